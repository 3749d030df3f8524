//! What may complete the word being typed on a command line, read from the
//! one clap grammar: subcommands, flags, their fixed values, and which kind
//! of catalog name (task, destination, backup id) a position takes. The front
//! end supplies the names; no word list is kept by hand.

use super::Cli;
use clap::CommandFactory;

/// A kind of catalog name the grammar takes at a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Task names.
    Tasks,
    /// Destination names (a comma-separated list where the flag takes one).
    Destinations,
    /// Backup ids.
    Backups,
}

/// What the grammar allows where the cursor is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Wanted {
    /// Words of the grammar: subcommands, `--flags`, fixed values; sorted.
    pub words: Vec<String>,
    /// The catalog names the position takes, if any.
    pub names: Option<Names>,
}

/// Splits a line being typed into its finished words and the word under the
/// cursor at its end (empty after a space).
pub fn split(line: &str) -> (Vec<String>, String) {
    let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    if line.is_empty() || line.ends_with(char::is_whitespace) {
        return (words, String::new());
    }
    let partial = words.pop().unwrap_or_default();
    (words, partial)
}

/// The names an argument takes, from its id and the command it belongs to.
fn names_of(arg: &clap::Arg, path: &[String], positional: bool) -> Option<Names> {
    let under = |w: &str| path.iter().any(|p| p == w);
    match arg.get_id().as_str() {
        "task" => Some(Names::Tasks),
        "id" => Some(Names::Backups),
        // `diff FROM TO` compares backups; `catalog rebuild --from` reads a destination.
        "from" | "to" if positional => Some(Names::Backups),
        "from" => Some(Names::Destinations),
        "dest" | "destination" | "destinations" => Some(Names::Destinations),
        // `dest key add NAME` names a destination; any other new name has
        // nothing to complete.
        "name" if under("dest") && under("key") => Some(Names::Destinations),
        "name" if under("add") => None,
        "name" if under("task") => Some(Names::Tasks),
        "name" if under("dest") => Some(Names::Destinations),
        _ => None,
    }
}

fn value_of(arg: &clap::Arg, path: &[String], positional: bool) -> Wanted {
    let mut words: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|v| !v.is_hide_set())
        .map(|v| v.get_name().to_string())
        .collect();
    words.sort();
    Wanted {
        words,
        names: names_of(arg, path, positional),
    }
}

/// Whether a flag needs the next word as its value.
fn needs_value(arg: &clap::Arg) -> bool {
    arg.get_action().takes_values() && arg.get_num_args().is_none_or(|n| n.min_values() > 0)
}

fn flag<'a>(cmd: &'a clap::Command, word: &str) -> Option<&'a clap::Arg> {
    let name = word.split('=').next().unwrap_or(word);
    if let Some(long) = name.strip_prefix("--") {
        return cmd.get_arguments().find(|a| a.get_long() == Some(long));
    }
    let short = name.strip_prefix('-')?.chars().next()?;
    cmd.get_arguments().find(|a| a.get_short() == Some(short))
}

/// What may follow `done` (the finished words of a line, with or without a
/// leading `strata`).
pub fn wanted(done: &[String]) -> Wanted {
    let mut root = Cli::command();
    // Propagates the global flags into every subcommand.
    root.build();
    let mut cur = &root;
    let mut path: Vec<String> = Vec::new();
    let mut positional = 0usize;
    let mut pending: Option<&clap::Arg> = None;
    let skip = usize::from(done.first().is_some_and(|w| w == "strata"));
    for w in &done[skip..] {
        if pending.take().is_some() {
            continue;
        }
        if w.starts_with('-') {
            pending = flag(cur, w).filter(|a| needs_value(a) && !w.contains('='));
            continue;
        }
        if let Some(sub) = cur.find_subcommand(w) {
            cur = sub;
            path.push(w.clone());
            positional = 0;
            continue;
        }
        positional += 1;
    }
    if let Some(arg) = pending {
        return value_of(arg, &path, false);
    }
    let mut out = cur
        .get_positionals()
        .nth(positional)
        .map(|a| value_of(a, &path, true))
        .unwrap_or_default();
    out.words.extend(
        cur.get_subcommands()
            .filter(|s| !s.is_hide_set() && s.get_name() != "help")
            .map(|s| s.get_name().to_string()),
    );
    out.words.extend(
        cur.get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_positional())
            .filter_map(|a| a.get_long())
            .filter(|l| *l != "version")
            .map(|l| format!("--{l}")),
    );
    out.words.sort();
    out.words.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(line: &str) -> Wanted {
        wanted(&split(line).0)
    }

    #[test]
    fn the_grammar_gives_words_flags_and_names() {
        let top = w("");
        assert!(top.words.contains(&"backup".to_string()), "{top:?}");
        assert!(top.words.contains(&"--role".to_string()), "{top:?}");
        assert_eq!(top.names, None);
        let b = w("backup ");
        assert!(b.words.contains(&"run".to_string()) && b.words.contains(&"list".to_string()));
        assert_eq!(w("backup run ").names, Some(Names::Tasks));
        assert!(w("backup run web ").words.contains(&"--full".to_string()));
        assert_eq!(w("backup show ").names, Some(Names::Backups));
        assert_eq!(w("restore ").names, Some(Names::Backups));
        assert_eq!(w("task show ").names, Some(Names::Tasks));
        assert_eq!(w("task add x --dest ").names, Some(Names::Destinations));
        assert_eq!(w("task add ").names, None);
        assert_eq!(w("dest show ").names, Some(Names::Destinations));
        assert_eq!(w("backup list --task ").names, Some(Names::Tasks));
        assert_eq!(w("--role ").words, ["admin", "operator", "viewer"]);
        assert_eq!(w("diff a ").names, Some(Names::Backups));
        assert_eq!(
            w("catalog rebuild --from ").names,
            Some(Names::Destinations)
        );
    }

    #[test]
    fn split_keeps_the_word_under_the_cursor() {
        assert_eq!(
            split("backup ru"),
            (vec!["backup".to_string()], "ru".into())
        );
        assert_eq!(
            split("backup "),
            (vec!["backup".to_string()], String::new())
        );
        assert_eq!(split(""), (Vec::new(), String::new()));
    }
}
