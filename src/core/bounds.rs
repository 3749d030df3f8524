//! Ranges of every number a user can give (flags, `strata.toml`, `apply`
//! TOML, environment), checked where the value enters, so no value reaches
//! arithmetic, a thread pool or a timer that it could overflow or exhaust.

use std::ops::RangeInclusive;

/// `hooks.timeout_secs`: one second to one day.
pub const HOOK_TIMEOUT_SECS: RangeInclusive<u64> = 1..=86_400;
/// `retention.keep_last_full`.
pub const KEEP_LAST_FULL: RangeInclusive<u32> = 1..=10_000;
/// `retention.keep_daily/weekly/monthly/yearly`.
pub const KEEP_CALENDAR: RangeInclusive<u32> = 0..=10_000;
/// `max_parallel_jobs` in `strata.toml`.
pub const MAX_PARALLEL_JOBS: RangeInclusive<usize> = 1..=256;
/// `[ssh] max_sessions`.
pub const SSH_MAX_SESSIONS: RangeInclusive<usize> = 1..=1_024;
/// `[ssh] max_auth_attempts`.
pub const SSH_MAX_AUTH_ATTEMPTS: RangeInclusive<usize> = 1..=100;
/// `[ssh] idle_timeout`, in seconds: one second to 30 days.
pub const SSH_IDLE_SECS: RangeInclusive<u64> = 1..=30 * 86_400;
/// `STRATA_THREADS`.
pub const THREADS: RangeInclusive<usize> = 1..=256;
/// `--limit` of listings.
pub const LIMIT: RangeInclusive<usize> = 1..=1_000_000;

/// `Err("{key} {value} is out of range; use {lo} to {hi}")` unless `value` is in `range`.
pub fn check<T: PartialOrd + std::fmt::Display>(
    key: &str,
    value: T,
    range: &RangeInclusive<T>,
) -> Result<T, String> {
    if range.contains(&value) {
        Ok(value)
    } else {
        let key = if key.is_empty() {
            String::new()
        } else {
            format!("{key} ")
        };
        Err(format!(
            "{key}{value} is out of range; use {} to {}",
            range.start(),
            range.end()
        ))
    }
}

/// The range of a numeric key of `strata.toml` or an `apply` file, in words,
/// for the TOML reader's own type errors (`-5`, `1.5`, a number past u64).
pub fn range_of(key: &str) -> Option<String> {
    let r = |lo: &dyn std::fmt::Display, hi: &dyn std::fmt::Display| format!("{lo} to {hi}");
    Some(match key {
        "timeout_secs" => r(HOOK_TIMEOUT_SECS.start(), HOOK_TIMEOUT_SECS.end()),
        "keep_last_full" => r(KEEP_LAST_FULL.start(), KEEP_LAST_FULL.end()),
        "keep_daily" | "keep_weekly" | "keep_monthly" | "keep_yearly" => {
            r(KEEP_CALENDAR.start(), KEEP_CALENDAR.end())
        }
        "compression_level" => "1 to 22".into(),
        "max_parallel_jobs" => r(MAX_PARALLEL_JOBS.start(), MAX_PARALLEL_JOBS.end()),
        "max_sessions" => r(SSH_MAX_SESSIONS.start(), SSH_MAX_SESSIONS.end()),
        "max_auth_attempts" => r(SSH_MAX_AUTH_ATTEMPTS.start(), SSH_MAX_AUTH_ATTEMPTS.end()),
        _ => return None,
    })
}

/// `msg` from the TOML reader about the value at byte `offset` of `text`,
/// with the key it belongs to and, for a numeric key, its range.
pub fn toml_value_hint(text: &str, offset: usize, msg: &str) -> String {
    let before = text.get(..offset).unwrap_or("");
    // The key is the last bare word before the `=` that precedes the value.
    let key = before.rfind('=').and_then(|eq| {
        let k = before[..eq].trim_end();
        let start = k
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let k = &k[start..];
        (!k.is_empty() && !before[eq + 1..].contains(['\n', ',', '{'])).then_some(k)
    });
    match key.and_then(|k| range_of(k).map(|r| (k, r))) {
        Some((k, range)) => format!("{k}: {msg}; use a whole number from {range}"),
        None => msg.to_string(),
    }
}

/// A clap value parser for `--limit`: a whole number in [`LIMIT`].
pub fn parse_limit(s: &str) -> Result<usize, String> {
    let n: usize = s.trim().parse().map_err(|_| {
        format!(
            "{s:?} is not a whole number in range {} to {}",
            LIMIT.start(),
            LIMIT.end()
        )
    })?;
    check("the limit", n, &LIMIT)
}

/// `STRATA_THREADS` as set, or `None` when unset: a whole number in [`THREADS`].
pub fn threads_env() -> Result<Option<usize>, String> {
    match std::env::var_os("STRATA_THREADS") {
        None => Ok(None),
        Some(v) => parse_threads(&v.to_string_lossy()).map(Some),
    }
}

/// Parses a `STRATA_THREADS` value.
pub fn parse_threads(v: &str) -> Result<usize, String> {
    v.trim()
        .parse::<usize>()
        .ok()
        .filter(|n| THREADS.contains(n))
        .ok_or_else(|| {
            format!(
                "STRATA_THREADS={:?} is not valid; set it to a whole number from {} to {}, or unset it to use one thread per core",
                escape_controls(v),
                THREADS.start(),
                THREADS.end()
            )
        })
}

/// `text` with every control character written as an escape (`\0`, `\x1b`,
/// `\u{85}`), so an error message never carries raw bytes to a terminal.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Refuses a path no file system can hold: one with a NUL byte.
pub fn check_path(what: &str, path: &std::path::Path) -> Result<(), String> {
    use std::os::unix::ffi::OsStrExt;
    if path.as_os_str().as_bytes().contains(&0) {
        return Err(format!(
            "{what} {} contains a NUL character, which no path can hold; write the path without it",
            escape_controls(&path.to_string_lossy())
        ));
    }
    Ok(())
}

/// `idle_timeout`: seconds (`90s`) or the usual durations (`30m`, `2h`), from
/// one second to 30 days (a timer far in the future would overflow the clock).
pub fn parse_idle(t: &str) -> Result<std::time::Duration, String> {
    let range = &SSH_IDLE_SECS;
    let out_of_range = || format!("{:?} is out of range; use 1s to 30d", escape_controls(t));
    let secs = match t.trim().strip_suffix('s') {
        Some(secs) if !secs.is_empty() && secs.trim().bytes().all(|b| b.is_ascii_digit()) => {
            secs.trim().parse::<u64>().map_err(|_| out_of_range())?
        }
        _ => {
            // The general limit (100y) is not this one: name the idle range.
            let d = super::schedule::parse_duration(t).map_err(|e| {
                if e.contains("out of range") {
                    out_of_range()
                } else {
                    e
                }
            })?;
            u64::try_from(d.num_seconds()).map_err(|_| out_of_range())?
        }
    };
    if !range.contains(&secs) {
        return Err(out_of_range());
    }
    Ok(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn threads_range() {
        assert_eq!(parse_threads("4"), Ok(4));
        assert_eq!(parse_threads("256"), Ok(256));
        for bad in ["0", "-1", "abc", "100000", "", "257"] {
            let e = parse_threads(bad).unwrap_err();
            assert!(
                e.contains("STRATA_THREADS") && e.contains("1 to 256"),
                "{e}"
            );
        }
    }

    #[test]
    fn controls_are_escaped() {
        assert_eq!(
            escape_controls("a\0b\x1b[31m\u{85}"),
            "a\\0b\\x1b[31m\\u{85}"
        );
        assert_eq!(escape_controls("plain"), "plain");
    }

    #[test]
    fn toml_hints_name_the_key_and_range() {
        let text = "hooks = { before = \"true\", timeout_secs = -5 }";
        let at = text.find("-5").unwrap();
        assert_eq!(
            toml_value_hint(text, at, "invalid value"),
            "timeout_secs: invalid value; use a whole number from 1 to 86400"
        );
        assert_eq!(toml_value_hint("name = 5", 7, "bad"), "bad");
    }

    proptest! {
        #[test]
        fn toml_hint_never_panics(text in "\\PC{0,40}", offset in 0usize..60) {
            let _ = toml_value_hint(&text, offset, "m");
        }

        #[test]
        fn threads_never_panics_and_is_bounded(s in "\\PC*|[0-9-]{0,25}") {
            if let Ok(n) = parse_threads(&s) {
                prop_assert!(THREADS.contains(&n));
            }
        }

        #[test]
        fn limit_never_panics_and_is_bounded(s in "\\PC*|[0-9]{0,25}") {
            if let Ok(n) = parse_limit(&s) {
                prop_assert!(LIMIT.contains(&n));
            }
        }

        #[test]
        fn escaped_text_has_no_controls(s in any::<String>()) {
            prop_assert!(!escape_controls(&s).chars().any(char::is_control));
        }
    }
}
