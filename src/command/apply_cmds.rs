//! `strata apply` and `strata export`: destinations and tasks as a TOML file.

use super::exec::{Io, json};
use crate::core::declarative::{Action, ApplyPlan};
use crate::core::{Core, CoreError};
use serde_json::Value;
use std::path::Path;

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

pub(super) fn apply(
    core: &Core,
    file: &Path,
    dry_run: bool,
    j: bool,
    io: &mut Io<'_>,
) -> Result<u8, CoreError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        CoreError::Invalid(format!(
            "cannot read {}: {e}; check the path given to -f",
            file.display()
        ))
    })?;
    // Configuration errors are about the file: say which one.
    let plan = core.apply(&text, dry_run).map_err(|e| match e {
        CoreError::Invalid(m) => CoreError::Invalid(format!("{}: {m}", file.display())),
        other => other,
    })?;
    if j {
        json(io, &plan)?;
    } else {
        print_plan(&plan, io)?;
    }
    Ok(0)
}

pub(super) fn export(core: &Core, j: bool, io: &mut Io<'_>) -> Result<u8, CoreError> {
    if j {
        json(io, &core.export_doc()?)?;
    } else {
        let text = core.export()?;
        write!(io.out, "{text}").map_err(super::exec::write_err)?;
    }
    Ok(0)
}
