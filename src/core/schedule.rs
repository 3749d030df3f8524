//! Schedules and durations as users write them: standard 5-field cron (or
//! `@hourly`…) and `14d`-style durations, validated with a clear message.

use chrono::TimeDelta;
use std::str::FromStr;

/// Parses a 5-field cron expression or an `@` macro into a schedule.
/// The `cron` crate wants a seconds field and numbers Sunday 1-7, so the
/// expression is translated; users always see their own form back.
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    let e = expr.trim();
    let translated = match e {
        "@hourly" => "0 0 * * * *".to_string(),
        "@daily" | "@midnight" => "0 0 0 * * *".to_string(),
        "@weekly" => "0 0 0 * * 1".to_string(),
        "@monthly" => "0 0 0 1 * *".to_string(),
        "@yearly" | "@annually" => "0 0 0 1 1 *".to_string(),
        _ => {
            let fields: Vec<&str> = e.split_whitespace().collect();
            if fields.len() != 5 {
                return Err(format!(
                    "schedule {expr:?} has {} fields; use 5 (minute hour day-of-month month day-of-week, e.g. \"0 3 * * 0\") or @hourly/@daily/@weekly/@monthly",
                    fields.len()
                ));
            }
            let dow = translate_dow(fields[4]).map_err(|why| {
                format!("schedule {expr:?}: day-of-week field {:?} {why}", fields[4])
            })?;
            format!(
                "0 {} {} {} {} {}",
                fields[0], fields[1], fields[2], fields[3], dow
            )
        }
    };
    cron::Schedule::from_str(&translated).map_err(|err| {
        let field = ["minute", "hour", "day-of-month", "month", "day-of-week"]
            .iter()
            .zip(e.split_whitespace())
            .find(|(_, f)| cron::Schedule::from_str(&probe(e, f)).is_err())
            .map(|(name, f)| format!(" (the {name} field {f:?} is not valid)"))
            .unwrap_or_default();
        format!("schedule {expr:?} is not a valid cron expression{field}: {err}")
    })
}

/// A copy of `expr` with every field but `keep` replaced by `*`, to find the bad field.
fn probe(expr: &str, keep: &str) -> String {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let mut out = vec!["0".to_string()];
    for (i, f) in fields.iter().enumerate() {
        if std::ptr::eq(*f, keep) {
            out.push(if i == 4 {
                translate_dow(f).unwrap_or_else(|_| "bad".into())
            } else {
                f.to_string()
            });
        } else {
            out.push("*".into());
        }
    }
    out.join(" ")
}

/// Standard cron numbers days 0-7 (0 and 7 are Sunday); the crate uses 1-7 from Sunday.
fn translate_dow(field: &str) -> Result<String, &'static str> {
    let mut out = String::new();
    let mut num = String::new();
    let flush = |num: &mut String, out: &mut String| -> Result<(), &'static str> {
        if !num.is_empty() {
            let n: u32 = num.parse().map_err(|_| "is not a number")?;
            if n > 7 {
                return Err("is out of range 0-7");
            }
            out.push_str(&(if n == 7 { 1 } else { n + 1 }).to_string());
            num.clear();
        }
        Ok(())
    };
    let mut after_slash = false;
    for c in field.chars() {
        if c.is_ascii_digit() && !after_slash {
            num.push(c);
        } else {
            flush(&mut num, &mut out)?;
            out.push(c);
            if c == '/' {
                after_slash = true;
            } else if c == ',' {
                after_slash = false;
            }
        }
    }
    flush(&mut num, &mut out)?;
    Ok(out)
}

/// Parses `30m`, `12h`, `14d`, `2w`, `1y` (a year is 365 days).
pub fn parse_duration(s: &str) -> Result<TimeDelta, String> {
    let t = s.trim();
    let bad = || {
        format!("duration {s:?} is not valid; use a number and a unit: m, h, d, w or y (e.g. 14d)")
    };
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    let n: i64 = num.parse().map_err(|_| bad())?;
    let d = match unit {
        "m" => TimeDelta::try_minutes(n),
        "h" => TimeDelta::try_hours(n),
        "d" => TimeDelta::try_days(n),
        "w" => TimeDelta::try_weeks(n),
        "y" => TimeDelta::try_days(n.saturating_mul(365)),
        _ => None,
    };
    d.filter(|d| *d > TimeDelta::zero()).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone, Timelike, Utc};

    #[test]
    fn five_field_cron_means_what_cron_means() {
        let s = parse_cron("30 3 * * 0").unwrap();
        let next = s
            .after(&Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap())
            .next()
            .unwrap();
        assert_eq!(next.weekday(), chrono::Weekday::Sun);
        assert_eq!((next.hour(), next.minute()), (3, 30));
        let s = parse_cron("0 * * * 1-5").unwrap();
        let next = s
            .after(&Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap())
            .next()
            .unwrap();
        assert_eq!(
            next.weekday(),
            chrono::Weekday::Mon,
            "Saturday noon → Monday"
        );
        assert!(parse_cron("@daily").is_ok());
        assert!(parse_cron("0 3 * * 7").is_ok());
    }

    #[test]
    fn bad_cron_names_the_field() {
        let e = parse_cron("61 3 * * *").unwrap_err();
        assert!(e.contains("minute"), "{e}");
        let e = parse_cron("0 3 * *").unwrap_err();
        assert!(e.contains("4 fields"), "{e}");
        assert!(parse_cron("0 3 * * 8").unwrap_err().contains("day-of-week"));
        assert!(parse_cron("not a cron").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("14d").unwrap(), TimeDelta::days(14));
        assert_eq!(parse_duration("2w").unwrap(), TimeDelta::days(14));
        assert!(parse_duration("14").is_err());
        assert!(parse_duration("0d").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("5x").is_err());
    }
}
