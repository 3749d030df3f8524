//! Rendering a document as TOML (`strata export`): one table per
//! destination and task, inline tables for `source`, `retention`, `hooks`.

use super::doc::*;
use crate::core::error::CoreError;
use serde::Serialize;

/// Writes a document as TOML in the layout of design.md §3 (inline tables for
/// `source`, `retention` and `hooks`; unset keys left out).
pub fn render(doc: &Config) -> Result<String, CoreError> {
    let mut out = String::from(
        "# Strata destinations and tasks (strata export).\n\
         # Apply with: strata apply -f FILE --dry-run, then without --dry-run.\n",
    );
    for d in &doc.destination {
        let DestDoc {
            name,
            kind,
            path,
            url,
            endpoint,
            region,
            storage_class,
            account,
            credentials,
            identity,
            known_hosts,
            rate_limit,
            encryption,
            parallel_uploads,
        } = d;
        out.push_str("\n[[destination]]\n");
        kv(&mut out, "name", name)?;
        kv(&mut out, "kind", kind)?;
        opt(&mut out, "path", path)?;
        opt(&mut out, "url", url)?;
        opt(&mut out, "endpoint", endpoint)?;
        opt(&mut out, "region", region)?;
        opt(&mut out, "storage_class", storage_class)?;
        opt(&mut out, "account", account)?;
        opt(&mut out, "credentials", credentials)?;
        opt(&mut out, "identity", identity)?;
        opt(&mut out, "known_hosts", known_hosts)?;
        opt(&mut out, "rate_limit", rate_limit)?;
        opt(&mut out, "encryption", encryption)?;
        opt(&mut out, "parallel_uploads", parallel_uploads)?;
    }
    for t in &doc.task {
        let TaskDoc {
            name,
            source,
            destinations,
            full,
            incremental,
            differential,
            timezone,
            catch_up,
            retention,
            hooks,
            compression_level,
            paused,
            require,
            alert_after,
            notify,
            verify,
            verify_read_data,
        } = t;
        out.push_str("\n[[task]]\n");
        kv(&mut out, "name", name)?;
        kv(&mut out, "source", source)?;
        kv(&mut out, "destinations", destinations)?;
        opt(&mut out, "full", full)?;
        opt(&mut out, "incremental", incremental)?;
        opt(&mut out, "differential", differential)?;
        opt(&mut out, "timezone", timezone)?;
        opt(&mut out, "catch_up", catch_up)?;
        if !retention.is_empty() {
            kv(&mut out, "retention", retention)?;
        }
        if !hooks.is_empty() {
            kv(&mut out, "hooks", hooks)?;
        }
        opt(&mut out, "compression_level", compression_level)?;
        opt(&mut out, "paused", paused)?;
        opt(&mut out, "require", require)?;
        opt(&mut out, "alert_after", alert_after)?;
        opt(&mut out, "notify", notify)?;
        opt(&mut out, "verify", verify)?;
        opt(&mut out, "verify_read_data", verify_read_data)?;
    }
    Ok(out)
}

/// Appends `key = value` with the value as inline TOML.
fn kv<T: Serialize + ?Sized>(out: &mut String, key: &str, value: &T) -> Result<(), CoreError> {
    let mut s = String::new();
    value
        .serialize(toml::ser::ValueSerializer::new(&mut s))
        .map_err(|e| CoreError::Failed(format!("cannot write {key} as TOML: {e}")))?;
    out.push_str(key);
    out.push_str(" = ");
    out.push_str(&s);
    out.push('\n');
    Ok(())
}

fn opt<T: Serialize>(out: &mut String, key: &str, value: &Option<T>) -> Result<(), CoreError> {
    match value {
        Some(v) => kv(out, key, v),
        None => Ok(()),
    }
}
