//! The layering of design.md §2 as a test: reads `src/` the way a linter would
//! and fails when a module imports across an arrow that must never exist.
//!
//! main → front ends (command, tui, ssh, daemon) → core → engine → source/dest,
//! with plain shared data in leaf modules that import nothing of ours.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed step should stop the test

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Modules of plain shared data: they import nothing of ours.
const LEAVES: &[&str] = &["model", "progress", "spelling", "units"];
const FRONT_ENDS: &[&str] = &["command", "tui", "ssh", "daemon"];

/// Whether `from` may never refer to `to` (both top-level modules of the crate).
fn forbidden(from: &str, to: &str) -> bool {
    if from == to {
        return false;
    }
    let leaf = |m: &str| LEAVES.contains(&m);
    let front = |m: &str| FRONT_ENDS.contains(&m);
    match from {
        f if leaf(f) => true,
        "core" => front(to),
        "engine" => to == "core" || front(to),
        "dest" | "source" => !leaf(to),
        f if front(f) => matches!(to, "engine" | "dest" | "source"),
        _ => false,
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its unit tests (`#[cfg(test)] mod … {` to the
/// end, where this crate keeps them) and without comments.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|n| n.trim_start().starts_with("mod ") && n.contains('{'))
        {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

/// Every top-level module a piece of code names through `crate::…`,
/// including grouped imports (`use crate::{a::X, b::Y}`).
fn referenced(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `strata_crate::`
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut part = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 || (depth == 1 && c == ',') {
                    out.push(first_ident(&part));
                    part.clear();
                    if depth == 0 {
                        break;
                    }
                } else {
                    part.push(c);
                }
            }
        } else {
            out.push(first_ident(rest));
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

fn first_ident(s: &str) -> String {
    s.trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// (file, its top-level module, the top-level modules it refers to), for
/// every file of `src/` but the crate roots and unit-test files.
fn imports() -> Vec<(String, String, BTreeSet<String>)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        let name = rel.to_string_lossy();
        if top == "lib" || top == "main" || name.ends_with("_tests.rs") {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&f).unwrap());
        let targets: BTreeSet<String> = referenced(&code).into_iter().collect();
        found.push((format!("src/{name}"), top, targets));
    }
    found
}

fn violations() -> Vec<String> {
    let mut found = Vec::new();
    for (name, top, targets) in imports() {
        for to in targets {
            if forbidden(&top, &to) {
                found.push(format!("{name} ({top}) imports crate::{to}"));
            }
        }
    }
    found
}

#[test]
fn no_import_crosses_a_forbidden_arrow() {
    let v = violations();
    assert!(
        v.is_empty(),
        "imports that cross the layering of design.md §2 (see docs/architecture.md):\n  {}",
        v.join("\n  ")
    );
}

#[test]
fn no_two_modules_import_each_other() {
    use std::collections::BTreeMap;
    let mut uses: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (name, top, targets) in imports() {
        for to in targets.into_iter().filter(|t| *t != top) {
            uses.entry(top.clone())
                .or_default()
                .entry(to)
                .or_insert(name.clone());
        }
    }
    let mut cycles = Vec::new();
    for (a, tos) in &uses {
        for (b, file) in tos {
            if a < b
                && let Some(back) = uses.get(b).and_then(|m| m.get(a))
            {
                cycles.push(format!("{a} ↔ {b} ({file}, {back})"));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "modules importing each other:\n  {}",
        cycles.join("\n  ")
    );
}

#[test]
fn the_reader_finds_grouped_and_nested_imports() {
    let code = "use crate::{core::{a, b}, engine::X};\nfn f() { crate::tui::run(); }\n";
    assert_eq!(referenced(code), vec!["core", "engine", "tui"]);
    let code =
        code_of("use crate::a;\n// crate::b\n#[cfg(test)]\nmod tests {\n use crate::c;\n}\n");
    assert_eq!(referenced(&code), vec!["a"]);
}

#[test]
fn the_rules_forbid_what_design_md_forbids() {
    assert!(forbidden("engine", "core"));
    assert!(forbidden("core", "tui"));
    assert!(forbidden("command", "engine"));
    assert!(forbidden("tui", "dest"));
    assert!(forbidden("dest", "core"));
    assert!(forbidden("model", "core"));
    assert!(!forbidden("core", "engine"));
    assert!(!forbidden("engine", "dest"));
    assert!(!forbidden("engine", "model"));
    assert!(!forbidden("tui", "core"));
    assert!(!forbidden("source", "model"));
}

/// The core reaches repositories only through `engine::Repository`: it never
/// builds a key of the layout or removes objects by prefix itself.
#[test]
fn the_core_builds_no_repository_key() {
    const LAYOUT: &[&str] = &[
        "backup_prefix(",
        "manifest_key(",
        "commit_key(",
        "claim_key(",
        "pack_key(",
        "delete_prefix(",
        "get_range(",
        "repo::BACKUPS",
    ];
    let core = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core");
    let mut files = Vec::new();
    rust_files(&core, &mut files);
    let mut found = Vec::new();
    for f in files {
        if f.to_string_lossy().ends_with("_tests.rs") {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&f).unwrap());
        for word in LAYOUT.iter().filter(|w| code.contains(**w)) {
            found.push(format!("{} uses {word}", f.display()));
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
