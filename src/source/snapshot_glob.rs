//! The tags of a `snapshot` source and the expansion of its `path` glob.
//!
//! Strata tags each snapshot `strata-<task>_<backup id>` (letters, digits,
//! `-`, `_` and `.` only: safe as a shell word and a path component). The
//! task is in the tag so that two tasks snapshotting the same database
//! never list or clear each other's snapshots; a backup id has no `_`, so
//! the last `_` separates them. The path is an absolute
//! glob with `{tag}` in one component (`/var/lib/cassandra/data/*/*/snapshots/{tag}`).
//! Its components are matched one by one: a literal is joined, a glob
//! (`*`, `?`, `[…]`) matches the names of a directory, and the `{tag}`
//! component matches one tag, or any of Strata's tags when listing. The
//! names the globs matched are the match's *varying* part (`ks/t1-uuid`):
//! each match is backed up under it, so two tables never collide.

use std::path::{Path, PathBuf};

/// What every tag Strata picks starts with.
pub const TAG_PREFIX: &str = "strata-";

/// The placeholder in `create`, `path` and `clear`.
pub const PLACEHOLDER: &str = "{tag}";

/// The tag of the snapshot a backup of `task` takes.
pub fn tag_for(task: &str, backup_id: &str) -> String {
    format!("{TAG_PREFIX}{task}_{backup_id}")
}

/// The task and backup id of a tag Strata could have picked.
pub fn parse_tag(tag: &str) -> Option<(&str, &str)> {
    let (task, id) = tag.strip_prefix(TAG_PREFIX)?.rsplit_once('_')?;
    let task_ok = !task.is_empty()
        && !task.starts_with(['.', '-'])
        && task
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    let id_ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    (task_ok && id_ok).then_some((task, id))
}

/// Whether `s` is a tag Strata could have picked.
pub fn is_tag(s: &str) -> bool {
    parse_tag(s).is_some()
}

/// The backup id a tag names (its time is the snapshot's age).
pub fn backup_id_of(tag: &str) -> Option<&str> {
    parse_tag(tag).map(|(_, id)| id)
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Checks a `path` template: absolute, `{tag}` in exactly one component
/// (with only literal text around it there), no `**`, no `.` or `..`.
pub fn check_template(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!(
            "{path:?} is relative; give the absolute glob of the snapshot's directories"
        ));
    }
    if !path.contains(PLACEHOLDER) {
        return Err(format!(
            "{path:?} has no {{tag}}; without it Strata cannot tell its snapshots apart (e.g. /var/lib/cassandra/data/*/*/snapshots/{{tag}})"
        ));
    }
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let tagged: Vec<&&str> = comps.iter().filter(|c| c.contains(PLACEHOLDER)).collect();
    if tagged.len() != 1 || tagged[0].matches(PLACEHOLDER).count() != 1 {
        return Err(format!(
            "{path:?} must contain {{tag}} once, in one path component"
        ));
    }
    if has_glob(&tagged[0].replace(PLACEHOLDER, "")) {
        return Err(format!(
            "{path:?}: the component with {{tag}} cannot also hold glob characters"
        ));
    }
    for c in &comps {
        if c.contains("**") {
            return Err(format!(
                "{path:?}: ** is not supported; use one * per directory level"
            ));
        }
        if *c == "." || *c == ".." {
            return Err(format!("{path:?}: . and .. are not allowed"));
        }
        if has_glob(c) {
            globset::GlobBuilder::new(c)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("{path:?}: {e}"))?;
        }
    }
    Ok(())
}

/// `template` with `{tag}` replaced by `tag` (a shell-safe word).
pub fn substitute(template: &str, tag: &str) -> String {
    template.replace(PLACEHOLDER, tag)
}

/// One directory the path glob matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// The directory.
    pub path: PathBuf,
    /// The names the glob components matched, `/`-joined (`ks/t1`); empty
    /// when the template has no glob.
    pub varying: String,
    /// The tag of the snapshot it belongs to.
    pub tag: String,
}

enum Comp {
    Literal(String),
    Glob(globset::GlobMatcher),
    Tag { before: String, after: String },
}

fn parse(template: &str) -> Result<Vec<Comp>, String> {
    check_template(template)?;
    let mut out = Vec::new();
    for c in template.split('/').filter(|c| !c.is_empty()) {
        if let Some((before, after)) = c.split_once(PLACEHOLDER) {
            out.push(Comp::Tag {
                before: before.to_string(),
                after: after.to_string(),
            });
        } else if has_glob(c) {
            let g = globset::GlobBuilder::new(c)
                .literal_separator(true)
                .build()
                .map_err(|e| format!("{template:?}: {e}"))?;
            out.push(Comp::Glob(g.compile_matcher()));
        } else {
            out.push(Comp::Literal(c.to_string()));
        }
    }
    Ok(out)
}

fn names(dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<String> = rd
        .filter_map(|d| d.ok())
        .filter_map(|d| d.file_name().into_string().ok())
        .collect();
    v.sort();
    v
}

/// The directories `template` matches for `tag`, or for any of Strata's
/// tags when `tag` is `None`; sorted by path. Hidden names match only a
/// glob that starts with `.`.
pub fn expand(template: &str, tag: Option<&str>) -> Result<Vec<Match>, String> {
    let comps = parse(template)?;
    // (path so far, varying names, tag found)
    let mut frontier: Vec<(PathBuf, Vec<String>, Option<String>)> =
        vec![(PathBuf::from("/"), Vec::new(), None)];
    for comp in &comps {
        let mut next = Vec::new();
        for (dir, varying, found) in frontier {
            match comp {
                Comp::Literal(l) => next.push((dir.join(l), varying, found)),
                Comp::Tag { before, after } => match tag {
                    Some(t) => next.push((
                        dir.join(format!("{before}{t}{after}")),
                        varying,
                        Some(t.into()),
                    )),
                    None => {
                        for n in names(&dir) {
                            let t = n
                                .strip_prefix(before.as_str())
                                .and_then(|r| r.strip_suffix(after.as_str()));
                            if let Some(t) = t.filter(|t| is_tag(t)) {
                                let t = t.to_string();
                                next.push((dir.join(&n), varying.clone(), Some(t)));
                            }
                        }
                    }
                },
                Comp::Glob(g) => {
                    let hidden_ok = g.glob().glob().starts_with('.');
                    for n in names(&dir) {
                        if (hidden_ok || !n.starts_with('.')) && g.is_match(&n) {
                            let p = dir.join(&n);
                            if p.is_dir() {
                                let mut v = varying.clone();
                                v.push(n);
                                next.push((p, v, found.clone()));
                            }
                        }
                    }
                }
            }
        }
        frontier = next;
    }
    let mut out: Vec<Match> = frontier
        .into_iter()
        .filter(|(p, _, _)| p.is_dir())
        .filter_map(|(path, varying, tag)| {
            Some(Match {
                path,
                varying: varying.join("/"),
                tag: tag?,
            })
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn templates_need_one_tag_component() {
        assert!(check_template("/var/lib/cassandra/data/*/*/snapshots/{tag}").is_ok());
        assert!(check_template("/mnt/snap-{tag}/data").is_ok());
        let no_tag = check_template("/var/lib/cassandra/data/*/*/snapshots").unwrap_err();
        assert!(
            no_tag.contains("cannot tell its snapshots apart"),
            "{no_tag}"
        );
        assert!(check_template("relative/{tag}").is_err());
        assert!(check_template("/a/{tag}/{tag}").is_err());
        assert!(check_template("/a/{tag}*").is_err());
        assert!(check_template("/a/**/{tag}").is_err());
        assert!(check_template("/a/../{tag}").is_err());
    }

    #[test]
    fn tags_are_shell_and_path_safe() {
        let t = tag_for("cass_eu.1", "20261203-150000-0a1b2c3d");
        assert_eq!(t, "strata-cass_eu.1_20261203-150000-0a1b2c3d");
        assert_eq!(
            parse_tag(&t),
            Some(("cass_eu.1", "20261203-150000-0a1b2c3d"))
        );
        assert_eq!(backup_id_of(&t), Some("20261203-150000-0a1b2c3d"));
        assert!(!crate::source::command::needs_shell(&t));
        for bad in [
            "strata-",
            "strata-t",
            "strata-_1",
            "other-t_1",
            "strata-a b_1",
            "strata-a/b_1",
            "strata-$(x)_1",
            "strata-t_1.2",
        ] {
            assert!(!is_tag(bad), "{bad}");
        }
        assert_eq!(
            substitute("nodetool snapshot -t {tag}", &t),
            format!("nodetool snapshot -t {t}")
        );
    }

    #[test]
    fn expansion_keeps_the_varying_part() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().to_str().unwrap();
        for p in [
            "data/ks/t1/snapshots/strata-t_1",
            "data/ks/t2/snapshots/strata-t_1",
            "data/ks/t2/snapshots/strata-t_2",
            "data/ks/t2/snapshots/manual",
            "data/.hidden/t9/snapshots/strata-t_1",
        ] {
            std::fs::create_dir_all(d.path().join(p)).unwrap();
        }
        let tpl = format!("{root}/data/*/*/snapshots/{{tag}}");
        let one = expand(&tpl, Some("strata-t_1")).unwrap();
        let varying: Vec<_> = one.iter().map(|m| m.varying.as_str()).collect();
        assert_eq!(varying, ["ks/t1", "ks/t2"]);
        assert!(one.iter().all(|m| m.tag == "strata-t_1"));
        let all = expand(&tpl, None).unwrap();
        let tags: Vec<_> = all.iter().map(|m| m.tag.as_str()).collect();
        assert_eq!(tags, ["strata-t_1", "strata-t_1", "strata-t_2"]);
        assert!(expand(&tpl, Some("strata-t_3")).unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn tags_of_backup_ids_round_trip(
            task in "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,20}",
            id in "[0-9]{8}-[0-9]{6}-[0-9a-f]{8}",
        ) {
            let t = tag_for(&task, &id);
            prop_assert!(is_tag(&t));
            prop_assert_eq!(parse_tag(&t), Some((task.as_str(), id.as_str())));
            let tpl = "/d/*/snapshots/{tag}";
            prop_assert_eq!(substitute(tpl, &t), format!("/d/*/snapshots/{t}"));
        }

        #[test]
        fn any_text_is_either_a_safe_tag_or_refused(s in "\\PC{0,24}") {
            if is_tag(&s) {
                prop_assert!(!crate::source::command::needs_shell(&s));
                prop_assert!(!s.contains('/') && !s.contains(char::is_whitespace));
            }
        }
    }
}
