//! The environment and limits of a task's commands: the private env file
//! (`KEY=VALUE` lines) and the dump timeout.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

/// A command timeout: a number and a unit `s`, `m`, `h` or `d` (`90m`, `2h`).
pub fn parse_timeout(t: &str) -> Result<Duration, String> {
    let s = t.trim();
    let bad =
        || format!("timeout {t:?} is not valid; use a number and a unit s, m, h or d (e.g. 2h)");
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(bad()),
    };
    if secs == 0 || secs > 30 * 86_400 {
        return Err(format!("timeout {t:?} is out of range; use 1s to 30d"));
    }
    Ok(Duration::from_secs(secs))
}

/// Reads an env file: `KEY=VALUE` lines, `#` comments and blank lines, an
/// optional `export ` prefix and one pair of quotes around the value. The
/// file must be private (no group or other permission bits). Errors name
/// the file and line, never a value.
pub fn read_env_file(path: &Path) -> Result<Vec<(String, String)>, String> {
    let shown = path.display();
    let md = std::fs::metadata(path)
        .map_err(|e| format!("env file {shown} cannot be read ({e}); check the path"))?;
    let mode = md.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "env file {shown} is readable by others (mode {mode:04o}); it holds secrets: run 'chmod 600 {shown}'"
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("env file {shown} cannot be read ({e}); check the path"))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let l = l.strip_prefix("export ").unwrap_or(l);
        let Some((k, v)) = l.split_once('=') else {
            return Err(format!(
                "env file {shown} line {}: not KEY=VALUE; write one variable per line",
                i + 1
            ));
        };
        let k = k.trim();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "env file {shown} line {}: {k:?} is not a variable name",
                i + 1
            ));
        }
        let v = v.trim();
        let v = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|(a, b)| v.strip_prefix(*a).and_then(|x| x.strip_suffix(*b)))
            .unwrap_or(v);
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// The environment of a task's commands (none without an env file).
pub fn env_of(env_file: Option<&Path>) -> Result<Vec<(String, String)>, String> {
    env_file
        .map(read_env_file)
        .transpose()
        .map(Option::unwrap_or_default)
}
