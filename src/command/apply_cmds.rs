//! How `strata apply` (its plan) and `strata export` are shown.

use super::exec::{Io, json};
use crate::core::CoreError;
use crate::core::declarative::Config;
use crate::core::declarative::{Action, ApplyPlan};
use serde_json::Value;

/// A field value as the diff shows it: JSON/TOML-like, `(unset)` for none.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => "(unset)".into(),
        other => other.to_string(),
    }
}

fn print_plan(plan: &ApplyPlan, io: &mut Io<'_>) -> Result<(), CoreError> {
    for i in &plan.items {
        let what = i.item.as_str();
        match &i.action {
            Action::Add => say!(io, "+ {what} {} ({})", i.name, i.summary),
            Action::Change { fields } => {
                for f in fields {
                    say!(
                        io,
                        "~ {what} {}: {} {} -> {}",
                        i.name,
                        f.field,
                        shown(&f.old),
                        shown(&f.new)
                    );
                }
            }
            Action::Unchanged => say!(io, "= {what} {} (unchanged)", i.name),
        }
    }
    for n in &plan.not_in_file {
        say!(
            io,
            "  {} {} is not in the file (left as is)",
            n.item.as_str(),
            n.name
        );
    }
    if plan.dry_run {
        say!(io, "dry run: {} change(s) would be applied", plan.changes);
    } else {
        say!(io, "applied {} change(s)", plan.changes);
    }
    Ok(())
}

pub(super) fn apply(plan: &ApplyPlan, j: bool, io: &mut Io<'_>) -> Result<(), CoreError> {
    if j {
        json(io, plan)
    } else {
        print_plan(plan, io)
    }
}

pub(super) fn export(doc: &Config, text: &str, j: bool, io: &mut Io<'_>) -> Result<(), CoreError> {
    if j {
        json(io, doc)
    } else {
        write!(io.out, "{text}").map_err(super::exec::write_err)
    }
}
