//! Exclude patterns of a `dir` source, compiled once into glob sets.

use globset::{GlobSet, GlobSetBuilder};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Exclude patterns compiled once: a pattern without `/` matches a name at any
/// depth (`*.tmp`), one with `/` matches the path from the root (`var/cache/*`),
/// a trailing `/` limits it to directories (`cache/`).
pub struct Excludes {
    by_name: GlobSet,
    by_path: GlobSet,
    dirs_by_name: GlobSet,
    dirs_by_path: GlobSet,
}

/// An exclude pattern that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("exclude pattern {pattern:?} is not a valid glob: {reason}")]
pub struct BadPattern {
    /// The pattern.
    pub pattern: String,
    /// Parser message.
    pub reason: String,
}

impl Excludes {
    /// Compiles the task's patterns.
    pub fn new(patterns: &[String]) -> Result<Excludes, BadPattern> {
        let mut sets = [
            GlobSetBuilder::new(),
            GlobSetBuilder::new(),
            GlobSetBuilder::new(),
            GlobSetBuilder::new(),
        ];
        for p in patterns {
            let dir_only = p.ends_with('/');
            let body = p.trim_end_matches('/').trim_start_matches('/');
            let anchored = body.contains('/') || p.starts_with('/');
            // In a pattern anchored at the root, `*` stays within one path
            // component (`data/*.csv` does not reach `data/sub/x.csv`; `**` does).
            let glob = globset::GlobBuilder::new(body)
                .literal_separator(anchored)
                .build()
                .map_err(|e| BadPattern {
                    pattern: p.clone(),
                    reason: e.kind().to_string(),
                })?;
            let idx = match (dir_only, anchored) {
                (false, false) => 0,
                (false, true) => 1,
                (true, false) => 2,
                (true, true) => 3,
            };
            sets[idx].add(glob);
        }
        let build = |b: &GlobSetBuilder| {
            b.build().map_err(|e| BadPattern {
                pattern: patterns.join(" "),
                reason: e.to_string(),
            })
        };
        Ok(Excludes {
            by_name: build(&sets[0])?,
            by_path: build(&sets[1])?,
            dirs_by_name: build(&sets[2])?,
            dirs_by_path: build(&sets[3])?,
        })
    }

    /// Whether the entry at `rel` (named `name`) is left out.
    pub fn excluded(&self, rel: &[u8], name: &[u8], is_dir: bool) -> bool {
        let rel = Path::new(OsStr::from_bytes(rel));
        let name = Path::new(OsStr::from_bytes(name));
        self.by_name.is_match(name)
            || self.by_path.is_match(rel)
            || (is_dir && (self.dirs_by_name.is_match(name) || self.dirs_by_path.is_match(rel)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchored_patterns_match_from_root() {
        let ex = Excludes::new(&["a/*.log".into()]).unwrap();
        assert!(ex.excluded(b"a/x.log", b"x.log", false));
        assert!(!ex.excluded(b"b/a/x.log", b"x.log", false));
        assert!(
            !ex.excluded(b"a/sub/x.log", b"x.log", false),
            "* stays in one component"
        );
        let deep = Excludes::new(&["a/**/*.log".into()]).unwrap();
        assert!(deep.excluded(b"a/sub/x.log", b"x.log", false));
        assert!(Excludes::new(&["[".into()]).is_err());
    }
}
