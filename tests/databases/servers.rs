//! The database-source tests with real servers: PostgreSQL 15 and MariaDB
//! from Debian, started by the tests on private Unix sockets.

use super::common::dbkit::{self, Maria, Postgres};
use super::common::{self, Strata};
use super::{dest_and_task, last_run};

#[test]
fn postgres_dump_full_incremental_restore_into_a_new_database() {
    if dbkit::skip_without(
        "postgres test",
        "PostgreSQL 15 (postgresql)",
        Postgres::available(),
    ) {
        return;
    }
    let s = Strata::new();
    let pg = Postgres::start(s.root());
    pg.psql("postgres", "CREATE DATABASE app");
    pg.psql(
        "app",
        "CREATE TABLE items (id int PRIMARY KEY, body text, n numeric);
         INSERT INTO items SELECT g, md5(g::text) || repeat('x', 200), g * 1.5 FROM generate_series(1, 20000) g;",
    );
    let h = pg.sock.display().to_string();
    let dump = format!("pg_dump -h {h} -U postgres --format=custom --compress=0 app");
    let restore = format!(
        "createdb -h {h} -U postgres {{target}} && pg_restore -h {h} -U postgres --no-owner --dbname={{target}}"
    );
    dest_and_task(
        &s,
        &["pg", "--command", &dump, "--restore-command", &restore],
    );
    assert!(s.ok(&["task", "show", "pg"]).contains("command · backup"));
    s.backup("pg", "full");
    pg.psql("app", "UPDATE items SET body = 'changed' WHERE id % 100 = 0; INSERT INTO items VALUES (0, 'new', 0)");
    let incr = s.backup("pg", "incremental");
    eprintln!(
        "FIGURE pg_dump incremental after 1 % of rows changed: stored {} of logical {} bytes",
        common::u64_of(&incr, "stored_bytes"),
        common::u64_of(&incr, "logical_bytes")
    );
    s.ok(&["restore", common::id_of(&incr), "--to", "app_copy"]);
    let sum = "SELECT md5(string_agg(t::text, ',' ORDER BY id)) FROM items t";
    assert_eq!(pg.psql("app", sum), pg.psql("app_copy", sum));
    // Restoring into a database that exists fails with the server's words and names the target.
    let (code, _, err) = s.run(&["restore", common::id_of(&incr), "--to", "app_copy"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("already exists") && err.contains("app_copy"),
        "{err}"
    );
    // A dump of a database that does not exist fails the backup with the server's message.
    let missing = format!("pg_dump -h {h} -U postgres --format=custom nosuchdb");
    s.ok(&["task", "add", "gone", "--command", &missing, "--dest", "d"]);
    let (code, _, err) = s.run(&["backup", "run", "gone"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("database \"nosuchdb\" does not exist"),
        "{err}"
    );
    assert!(
        last_run(&s, "gone")["message"]
            .as_str()
            .unwrap()
            .contains("nosuchdb")
    );
}

#[test]
fn mariadb_dump_restore_into_a_new_database() {
    if dbkit::skip_without(
        "mariadb test",
        "MariaDB (mariadb-server)",
        Maria::available(),
    ) {
        return;
    }
    let s = Strata::new();
    let m = Maria::start(s.root());
    m.sql("", "CREATE DATABASE app");
    m.sql(
        "app",
        "CREATE TABLE items (id INT PRIMARY KEY, body TEXT) ENGINE=InnoDB;
         INSERT INTO items SELECT seq, CONCAT(MD5(seq), ' é ''q''') FROM seq_1_to_5000;",
    );
    let sock = m.sock.display().to_string();
    let dump =
        format!("mariadb-dump --no-defaults --socket={sock} -uroot --single-transaction app");
    let restore = format!(
        "mariadb --no-defaults --socket={sock} -uroot -e 'CREATE DATABASE {{target}}' && mariadb --no-defaults --socket={sock} -uroot {{target}}"
    );
    dest_and_task(
        &s,
        &["maria", "--command", &dump, "--restore-command", &restore],
    );
    s.backup("maria", "full");
    m.sql("app", "UPDATE items SET body = 'changed' WHERE id % 50 = 0");
    let incr = s.backup("maria", "incremental");
    s.ok(&["restore", common::id_of(&incr), "--to", "app_copy"]);
    let sum = "CHECKSUM TABLE items";
    let a = m.sql("app", sum);
    let b = m.sql("app_copy", sum);
    assert_eq!(a.split('\t').nth(1), b.split('\t').nth(1), "{a} / {b}");
    assert_eq!(
        m.sql("app", "SELECT COUNT(*) FROM items"),
        m.sql("app_copy", "SELECT COUNT(*) FROM items")
    );
}
