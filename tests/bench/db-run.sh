#!/usr/bin/env bash
# `just bench-db`: Strata's database sources against the plain tools, ONE run, measured pairs
# back to back (tests/bench/db-ratios.py prints the ratios against issue 13's targets).
#
# usage: db-run.sh DATA WORK
#   DATA  keeps the pristine 1 GiB SQLite database (made once by make-sqlite.py: DATA/app.db)
#   WORK  scratch (wiped): copies, repositories, restores, the PostgreSQL cluster, results
# env: STRATA_BIN (default target/release/strata), SQLITE_MIB=1024, PG_SCALE=45 (pgbench -i -s),
#      PG_NOTES=700000 (rows of the text-heavy table), PARTS="sqlite pg pgincr"
#
# 1. sqlite: `strata backup run --full` of a `sqlite` snapshot task vs
#    `sqlite3 DB ".backup copy" && zstd -T0 -3 copy`; --touch 1 (1 % of pages); an incremental
#    (stored bytes vs the database's size); restore of the incremental into a new file vs
#    `zstd -d` of the copy.
# 2. pg: PostgreSQL 15 initdb'd in WORK as the `postgres` user, private socket, no TCP;
#    pgbench -i -s PG_SCALE plus a text-heavy table (~1 GiB on disk). A `command` task
#    (`pg_dump --format=custom --compress=0`) vs `pg_dump … | zstd -T0 -3 > file`; restore into a
#    new database with the task's restore command vs `createdb && zstd -d < file | pg_restore`.
# 3. pgincr: for each dump format, a full, then ~1 % of rows changed twice (a clustered change:
#    one range of accounts updated and 1 % new notes appended; then a scattered one: every 100th
#    account), an incremental after each: the stored bytes say which flags keep a dump
#    chunk-friendly.
# Every step starts after a `sync`; the `sync` after it is timed apart (sync_s): Strata syncs
# the packs and the database files it writes before it reports success, zstd and sqlite3's
# output may still sit in the page cache when they exit.
# Results: WORK/results.csv (step,wall_s,user_s,sys_s,maxrss_kb,rc,other_cpu_s,sync_s),
#          WORK/sizes.csv (what,bytes), WORK/machine.txt.
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,25p' "$0"; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1" "$2"
DATA=$(realpath "$1") WORK=$(realpath "$2")
STRATA_BIN=${STRATA_BIN:-$HERE/../../target/release/strata}
SQLITE_MIB=${SQLITE_MIB:-1024}
PG_SCALE=${PG_SCALE:-45}
PG_NOTES=${PG_NOTES:-700000}
PARTS=${PARTS:-"sqlite pg pgincr"}
PG_BIN=/usr/lib/postgresql/15/bin
HZ=$(getconf CLK_TCK)
CSV=$WORK/results.csv SIZES=$WORK/sizes.csv
for t in sqlite3 zstd pg_dump pg_restore pgbench psql /usr/bin/time "$STRATA_BIN"; do
  command -v "$t" >/dev/null || { echo "db-run.sh needs $t (apt-get install sqlite3 zstd time postgresql)" >&2; exit 2; }
done
log() { echo "[$(date +%T)] $*" >&2; }
bytes() { du -sb "$@" | awk '{s+=$1} END{print s+0}'; }
size() { echo "$1,$2" >> "$SIZES"; log "size $1: $2"; }
cpu_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9; exit}' /proc/stat; }

# measure STEP CMD...: wall (date), user/sys/RSS (GNU time), CPU others used meanwhile.
measure() {
  local step=$1 rc=0 t0 t1 s1 b0 b1; shift
  sync
  b0=$(cpu_busy); t0=$(date +%s.%N)
  /usr/bin/time -v -o "$WORK/logs/$step.time" "$@" > "$WORK/logs/$step.out" 2>&1 || rc=$?
  t1=$(date +%s.%N); b1=$(cpu_busy)
  sync  # what the step left unwritten (Strata syncs what it writes; zstd does not)
  s1=$(date +%s.%N)
  awk -F': ' -v step="$step" -v t0="$t0" -v t1="$t1" -v s1="$s1" -v rc="$rc" -v busy=$((b1 - b0)) -v hz="$HZ" '
    /User time \(seconds\)/ {u=$2} /System time \(seconds\)/ {s=$2} /Maximum resident set size/ {m=$2}
    END {o = busy / hz - u - s; if (o < 0) o = 0
         printf "%s,%.3f,%s,%s,%s,%s,%.2f,%.3f\n", step, t1-t0, u, s, m, rc, o, s1-t1}' "$WORK/logs/$step.time" >> "$CSV"
  log "$step: $(tail -1 "$CSV" | cut -d, -f2) s + sync $(tail -1 "$CSV" | cut -d, -f8) s (user $(tail -1 "$CSV" | cut -d, -f3), sys $(tail -1 "$CSV" | cut -d, -f4), others $(tail -1 "$CSV" | cut -d, -f7) s cpu, rc=$rc)"
  [ "$rc" -eq 0 ] || { log "FAILED: $step, see $WORK/logs/$step.out"; tail -5 "$WORK/logs/$step.out" >&2; exit 1; }
}
# the backup JSON of a `backup run … --json` log: field
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["backup"][sys.argv[2]])' "$WORK/logs/$1.out" "$2"; }

rm -rf "$WORK"/{sqlite,pg,logs} "$CSV" "$SIZES"
mkdir -p "$WORK/logs"
echo "step,wall_s,user_s,sys_s,maxrss_kb,rc,other_cpu_s,sync_s" > "$CSV"
echo "what,bytes" > "$SIZES"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "mem: $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "work fs: $(df -T "$WORK" | awk 'NR==2{print $2}')"
  echo "strata: $("$STRATA_BIN" --version 2>&1 | head -1)"
  echo "sqlite3: $(sqlite3 --version | cut -d' ' -f1), zstd: $(zstd --version | grep -o 'v[0-9.]*'), postgres: $("$PG_BIN/postgres" --version)"
} > "$WORK/machine.txt"
cat "$WORK/machine.txt" >&2

# ---------------------------------------------------------------- 1. SQLite
if [[ " $PARTS " == *" sqlite "* ]]; then
  [ -f "$DATA/app.db" ] || { log "making $DATA/app.db ($SQLITE_MIB MiB)"; python3 "$HERE/make-sqlite.py" "$DATA/app.db" --mib "$SQLITE_MIB"; }
  D=$WORK/sqlite; mkdir -p "$D"
  cp "$DATA/app.db" "$D/app.db"
  S=("$STRATA_BIN" --home "$D/home")
  "${S[@]}" dest add d --local "$D/repo" > "$WORK/logs/sqlite-init.out"
  "${S[@]}" task add app --sqlite "$D/app.db" --dest d >> "$WORK/logs/sqlite-init.out"
  size sqlite_db "$(stat -c %s "$D/app.db")"
  cat "$D/app.db" > /dev/null
  measure sqlite_peer_full sh -c "sqlite3 '$D/app.db' '.backup $D/copy.db' && zstd -q -T0 -3 '$D/copy.db' -o '$D/copy.db.zst'"
  measure sqlite_strata_full "${S[@]}" backup run app --full --json
  size sqlite_peer_full "$(stat -c %s "$D/copy.db.zst")"
  size sqlite_strata_full "$(field sqlite_strata_full stored_bytes)"
  python3 "$HERE/make-sqlite.py" "$D/app.db" --touch 1 | tee "$WORK/logs/sqlite-touch.out" >&2
  measure sqlite_strata_incr "${S[@]}" backup run app --incremental --json
  size sqlite_strata_incr "$(field sqlite_strata_incr stored_bytes)"
  id=$(field sqlite_strata_incr id)
  rm -f "$D/copy.db"
  measure sqlite_peer_restore zstd -q -d "$D/copy.db.zst" -o "$D/copy.db"
  measure sqlite_strata_restore "${S[@]}" restore "$id" --to "$D/restored.db"
  cmp <(sqlite3 "$D/app.db" "SELECT sum(balance_cents), count(*) FROM customers; SELECT group_concat(status,'') FROM (SELECT status FROM orders ORDER BY id)" | md5sum) \
      <(sqlite3 "$D/restored.db" "SELECT sum(balance_cents), count(*) FROM customers; SELECT group_concat(status,'') FROM (SELECT status FROM orders ORDER BY id)" | md5sum) \
    || { log "FAILED: the restored database differs from the touched one"; exit 1; }
  rm -f "$D"/copy.db* "$D/restored.db"
fi

# ---------------------------------------------------------------- PostgreSQL 15
PG=$WORK/pg SOCK=$WORK/pg/sock
pg_stop() { [ -d "$PG/data" ] && runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG/data" stop -m fast > /dev/null 2>&1 || true; }
if [[ " $PARTS " == *" pg "* || " $PARTS " == *" pgincr "* ]]; then
  mkdir -p "$PG/sock"
  # the postgres user must reach the socket directory
  d=$PG; while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  chown -R postgres:postgres "$PG"
  runuser -u postgres -- "$PG_BIN/initdb" --username=postgres --auth=trust -D "$PG/data" > "$WORK/logs/initdb.out"
  trap pg_stop EXIT
  runuser -u postgres -- "$PG_BIN/pg_ctl" -w -D "$PG/data" -l "$PG/log" \
    -o "-c listen_addresses='' -c unix_socket_directories='$SOCK' -c fsync=off -c max_wal_size=4GB" start > /dev/null
  export PGHOST=$SOCK PGUSER=postgres
  Q() { psql -X -q -v ON_ERROR_STOP=1 -At "$@"; }
  Q -d postgres -c "CREATE DATABASE bench"
  log "pgbench -i -s $PG_SCALE and $PG_NOTES notes"
  pgbench -i -q -s "$PG_SCALE" bench > "$WORK/logs/pgbench-init.out" 2>&1
  Q -d bench -c "CREATE TABLE notes (id bigint PRIMARY KEY, account int NOT NULL, created timestamptz NOT NULL, body text NOT NULL)"
  python3 "$HERE/make-sqlite.py" --tsv "$PG_NOTES" | Q -d bench -c "COPY notes FROM STDIN"
  Q -d bench -c "CREATE INDEX notes_account ON notes (account)" -c "VACUUM ANALYZE"
  size pg_db "$(Q -d bench -c "SELECT pg_database_size('bench')")"
  RESTORE_CMD="createdb {target} && pg_restore --no-owner --dbname={target}"
  sum_sql="SELECT md5(string_agg(aid::text || ':' || abalance, ',' ORDER BY aid)) FROM pgbench_accounts"
  notes_sql="SELECT count(*), md5(string_agg(md5(body), '' ORDER BY id)) FROM notes"
fi

# ---------------------------------------------------------------- 2. pg_dump full and restore
if [[ " $PARTS " == *" pg "* ]]; then
  D=$WORK/pgfull; rm -rf "$D"; mkdir -p "$D"
  S=("$STRATA_BIN" --home "$D/home")
  "${S[@]}" dest add d --local "$D/repo" > "$WORK/logs/pg-init.out"
  "${S[@]}" task add pg --command "pg_dump --format=custom --compress=0 bench" --restore-command "$RESTORE_CMD" --dest d >> "$WORK/logs/pg-init.out"
  measure pg_peer_full sh -c "pg_dump --format=custom --compress=0 bench | zstd -q -T0 -3 > '$D/bench.dump.zst'"
  measure pg_strata_full "${S[@]}" backup run pg --full --json
  size pg_peer_full "$(stat -c %s "$D/bench.dump.zst")"
  size pg_strata_full "$(field pg_strata_full stored_bytes)"
  size pg_dump_raw "$(field pg_strata_full logical_bytes)"
  id=$(field pg_strata_full id)
  measure pg_peer_restore sh -c "createdb bench_peer && zstd -q -d < '$D/bench.dump.zst' | pg_restore --no-owner --dbname=bench_peer"
  measure pg_strata_restore "${S[@]}" restore "$id" --to bench_strata
  for db in bench_peer bench_strata; do
    [ "$(Q -d $db -c "$sum_sql")" = "$(Q -d bench -c "$sum_sql")" ] && [ "$(Q -d $db -c "$notes_sql")" = "$(Q -d bench -c "$notes_sql")" ] \
      || { log "FAILED: $db differs from bench"; exit 1; }
    Q -d postgres -c "DROP DATABASE $db"
  done
  rm -rf "$D/bench.dump.zst"
fi

# ---------------------------------------------------------------- 3. dump formats and incrementals
if [[ " $PARTS " == *" pgincr "* ]]; then
  D=$WORK/pgincr; rm -rf "$D"; mkdir -p "$D"
  S=("$STRATA_BIN" --home "$D/home")
  "${S[@]}" dest add d --local "$D/repo" > "$WORK/logs/pgincr-init.out"
  declare -A FORMATS=(
    [custom_z0]="pg_dump --format=custom --compress=0 bench"
    [plain]="pg_dump --format=plain bench"
    [custom_default]="pg_dump --format=custom bench"
    [plain_gzip_rsyncable]="pg_dump --format=plain bench | gzip -6 --rsyncable"
    [plain_zstd_rsyncable]="pg_dump --format=plain bench | zstd -q -3 --rsyncable"
  )
  ORDER="custom_z0 plain custom_default plain_gzip_rsyncable plain_zstd_rsyncable"
  for f in $ORDER; do
    "${S[@]}" task add "$f" --command "${FORMATS[$f]}" --dest d >> "$WORK/logs/pgincr-init.out"
    measure "pgincr_${f}_full" "${S[@]}" backup run "$f" --full --json
    size "pgincr_${f}_full" "$(field "pgincr_${f}_full" stored_bytes)"
    size "pgincr_${f}_logical" "$(field "pgincr_${f}_full" logical_bytes)"
  done
  accounts=$((PG_SCALE * 100000))
  # clustered: 1 % of the accounts in one range, and 1 % new notes appended
  Q -d bench -c "UPDATE pgbench_accounts SET abalance = abalance + 7 WHERE aid BETWEEN $((accounts / 2)) AND $((accounts / 2 + accounts / 100 - 1))"
  python3 "$HERE/make-sqlite.py" --tsv $((PG_NOTES / 100)) --seed 4 | awk -v o="$PG_NOTES" -F'\t' 'BEGIN{OFS="\t"} {$1 += o; print}' | Q -d bench -c "COPY notes FROM STDIN"
  for f in $ORDER; do
    measure "pgincr_${f}_clustered" "${S[@]}" backup run "$f" --incremental --json
    size "pgincr_${f}_clustered" "$(field "pgincr_${f}_clustered" stored_bytes)"
  done
  # scattered: every 100th account
  Q -d bench -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid % 100 = 0"
  for f in $ORDER; do
    measure "pgincr_${f}_scattered" "${S[@]}" backup run "$f" --incremental --json
    size "pgincr_${f}_scattered" "$(field "pgincr_${f}_scattered" stored_bytes)"
  done
fi
pg_stop
trap - EXIT
python3 "$HERE/db-ratios.py" "$WORK"
