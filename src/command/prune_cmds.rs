//! `strata prune`: its arguments and how its report is shown.

use super::exec::{Io, json, write_err};
use super::render::{Table, size, time};
use crate::core::CoreError;
use crate::core::prune::PruneReport;
use crate::core::retention::Decision;
use clap::Args;

/// Arguments of `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Only this task's backups (default: every task's).
    #[arg(long)]
    pub task: Option<String>,
    /// Show what would expire and the bytes it would free; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The WHY cell: the reasons, with a long "needed by" list shortened
/// (`--json` has them all), or why an expired backup goes.
fn why(d: &Decision) -> String {
    if d.reasons.is_empty() {
        return "no rule keeps it".into();
    }
    let (needed, rules): (Vec<&String>, Vec<&String>) =
        d.reasons.iter().partition(|r| r.starts_with("needed by "));
    let mut parts: Vec<String> = rules.into_iter().cloned().collect();
    match needed.as_slice() {
        [] => {}
        [one] => parts.push(one.to_string()),
        [first, rest @ ..] => parts.push(format!("{first} and {} more", rest.len())),
    }
    parts.join(", ")
}

pub(super) fn prune(r: &PruneReport, j: bool, io: &mut Io<'_>) -> Result<(), CoreError> {
    if j {
        return json(io, r);
    }
    if r.decisions.is_empty() {
        say!(io, "no backups to evaluate");
        return Ok(());
    }
    let mut t = Table::new(&[
        "ID",
        "TASK",
        "KIND",
        "FINISHED (UTC)",
        ">STORED",
        "DECISION",
        "WHY",
    ]);
    for d in &r.decisions {
        t.row(vec![
            d.id.clone(),
            d.task.clone(),
            d.kind.to_string(),
            time(&d.finished),
            size(d.stored_bytes),
            if d.keep { "keep" } else { "expire" }.into(),
            why(d),
        ]);
    }
    write!(io.out, "{}", t.render()).map_err(write_err)?;
    let kept = r.decisions.len() - r.expired;
    if !r.in_use.is_empty() {
        say!(
            io,
            "kept {} backup(s) that running jobs read from ({}); they expire at a later prune once those jobs finish",
            r.in_use.len(),
            r.in_use.join(", ")
        );
    }
    if r.dry_run {
        say!(
            io,
            "dry run: {} backup(s) would expire, {kept} kept; would free {} (nothing was deleted)",
            r.expired,
            size(r.freed_bytes)
        );
    } else {
        say!(
            io,
            "expired {} backup(s), {kept} kept; freed {}",
            r.expired,
            size(r.freed_bytes)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BackupKind;

    fn decision(reasons: &[&str]) -> Decision {
        Decision {
            id: "x".into(),
            task: "t".into(),
            kind: BackupKind::Full,
            finished: chrono::Utc::now(),
            stored_bytes: 1,
            keep: !reasons.is_empty(),
            reasons: reasons.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn why_cell() {
        assert_eq!(why(&decision(&[])), "no rule keeps it");
        assert_eq!(why(&decision(&["manual", "pinned"])), "manual, pinned");
        assert_eq!(
            why(&decision(&["newest full", "needed by a"])),
            "newest full, needed by a"
        );
        assert_eq!(
            why(&decision(&["needed by a", "needed by b", "needed by c"])),
            "needed by a and 2 more"
        );
    }
}
