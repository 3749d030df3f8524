//! Schedules and durations as users write them: standard 5-field cron (or
//! `@hourly`…) and `14d`-style durations, validated with a clear message.

use chrono::TimeDelta;
use std::str::FromStr;

/// The five fields as users write them: name, range, and the names a field accepts.
const FIELDS: [(&str, u32, u32); 5] = [
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
];
const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
/// The `@` macros, for suggestions.
const MACROS: [&str; 7] = [
    "hourly", "daily", "midnight", "weekly", "monthly", "yearly", "annually",
];
/// The longest each month can be (February in a leap year).
const MONTH_DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// Parses a 5-field cron expression or an `@` macro into a schedule.
/// Every field is checked here, so messages speak of the user's five fields
/// (the `cron` crate wants a seconds field, numbers Sunday 1-7, and words its
/// errors for its own 6-field form); the crate then gets explicit value lists.
pub fn parse_cron(expr: &str) -> Result<cron::Schedule, String> {
    let e = expr.trim();
    let shown = super::bounds::escape_controls(expr);
    let translated = if let Some(name) = e.strip_prefix('@') {
        match name.to_ascii_lowercase().as_str() {
            "hourly" => "0 0 * * * *".to_string(),
            "daily" | "midnight" => "0 0 0 * * *".to_string(),
            "weekly" => "0 0 0 * * 1".to_string(),
            "monthly" => "0 0 0 1 * *".to_string(),
            "yearly" | "annually" => "0 0 0 1 1 *".to_string(),
            other => {
                let hint = crate::spelling::closest(other, MACROS)
                    .map(|m| format!("did you mean @{m}? "))
                    .unwrap_or_default();
                return Err(format!(
                    "schedule {shown:?}: unknown schedule macro; {hint}use @hourly, @daily, @weekly, @monthly or @yearly"
                ));
            }
        }
    } else {
        let fields: Vec<&str> = e.split_whitespace().collect();
        // A macro's name without its `@` (`daily`, `dayly`): say so, not "1 field".
        if let [word] = fields.as_slice()
            && word.chars().all(|c| c.is_ascii_alphabetic())
        {
            let lower = word.to_ascii_lowercase();
            return Err(match crate::spelling::closest(&lower, MACROS) {
                Some(m) => format!(
                    "schedule {shown:?}: did you mean @{m}? A schedule is 5 cron fields (e.g. \"0 3 * * 0\") or @hourly, @daily, @weekly, @monthly or @yearly"
                ),
                None => format!(
                    "schedule {shown:?} is not a schedule; use 5 cron fields (e.g. \"0 3 * * 0\") or @hourly, @daily, @weekly, @monthly or @yearly"
                ),
            });
        }
        if fields.len() != 5 {
            return Err(format!(
                "schedule {shown:?} has {} fields; use 5 (minute hour day-of-month month day-of-week, e.g. \"0 3 * * 0\") or @hourly/@daily/@weekly/@monthly/@yearly",
                fields.len()
            ));
        }
        let mut sets: Vec<Option<Vec<u32>>> = Vec::with_capacity(5);
        for (i, f) in fields.iter().enumerate() {
            sets.push(parse_field(i, f).map_err(|why| format!("schedule {shown:?}: {why}"))?);
        }
        if let Some(why) = never_fires(sets[2].as_deref(), sets[3].as_deref()) {
            return Err(format!("schedule {shown:?} can never fire: {why}"));
        }
        let mut out = vec!["0".to_string()];
        for (i, set) in sets.iter().enumerate() {
            out.push(match set {
                None => "*".to_string(),
                Some(values) => {
                    let mut v: Vec<u32> = if i == 4 {
                        // Standard cron numbers days 0-7 (0 and 7 are Sunday); the crate 1-7 from Sunday.
                        values.iter().map(|&d| d % 7 + 1).collect()
                    } else {
                        values.clone()
                    };
                    v.sort_unstable();
                    v.dedup();
                    v.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
                }
            });
        }
        out.join(" ")
    };
    let schedule = cron::Schedule::from_str(&translated).map_err(|_| {
        format!(
            "schedule {shown:?} is not a valid cron expression; use 5 fields (minute hour day-of-month month day-of-week, e.g. \"0 3 * * 0\")"
        )
    })?;
    if schedule.upcoming(chrono::Utc).next().is_none() {
        return Err(format!(
            "schedule {shown:?} can never fire; choose a date that exists"
        ));
    }
    Ok(schedule)
}

/// Why a schedule restricted to these days of month and months never fires, if it never does.
fn never_fires(days: Option<&[u32]>, months: Option<&[u32]>) -> Option<String> {
    let days = days?;
    let all: Vec<u32> = (1..=12).collect();
    let months = months.unwrap_or(&all);
    let fits = months
        .iter()
        .any(|&m| days.iter().any(|&d| d <= MONTH_DAYS[(m - 1) as usize]));
    if fits {
        return None;
    }
    let names: Vec<&str> = months
        .iter()
        .map(|&m| {
            [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ][(m - 1) as usize]
        })
        .collect();
    let first = days.iter().min().copied().unwrap_or(0);
    Some(format!(
        "{} {} no day {first}; choose a day of month that exists in that month",
        names.join(", "),
        if names.len() == 1 { "has" } else { "have" }
    ))
}

/// One field as the set of values it allows, or `None` for `*` (every value).
fn parse_field(index: usize, field: &str) -> Result<Option<Vec<u32>>, String> {
    let (name, lo, hi) = FIELDS[index];
    let shown = super::bounds::escape_controls(field);
    let bad = || {
        format!(
            "the {name} field {shown:?} is not valid; use * or a number {lo}-{hi}, a range (1-5), a list (1,3) or a step (*/15)"
        )
    };
    if field == "*" || (field == "?" && (index == 2 || index == 4)) {
        return Ok(None);
    }
    let mut values = Vec::new();
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((b, s)) => {
                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let step: u32 = s.parse().unwrap_or(u32::MAX);
                if step == 0 || step > hi {
                    return Err(format!(
                        "the {name} field {shown:?} has step {}; use a step from 1 to {hi}",
                        super::bounds::escape_controls(s)
                    ));
                }
                (b, step)
            }
            None => (item, 1),
        };
        let (start, end) = if base == "*" {
            (lo, hi)
        } else if let Some((a, b)) = base.split_once('-') {
            let a = parse_value(index, a).map_err(|e| e.unwrap_or_else(bad))?;
            let b = parse_value(index, b).map_err(|e| e.unwrap_or_else(bad))?;
            if a > b {
                return Err(format!(
                    "the {name} range {a}-{b} runs backwards; write the smaller value first"
                ));
            }
            (a, b)
        } else {
            let a = parse_value(index, base).map_err(|e| e.unwrap_or_else(bad))?;
            // `5/15` means from 5 to the end in steps of 15, as in Vixie cron.
            (a, if item.contains('/') { hi } else { a })
        };
        values.extend((start..=end).step_by(step as usize));
    }
    Ok(Some(values))
}

/// One number or name of a field, range-checked. `Err(Some(msg))` is an out-of-range
/// number; `Err(None)` is not a number or name at all.
fn parse_value(index: usize, text: &str) -> Result<u32, Option<String>> {
    let (name, lo, hi) = FIELDS[index];
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let n: u32 = text.parse().unwrap_or(u32::MAX);
        if n < lo || n > hi {
            let shown = if text.len() > 12 { "(too large)" } else { text };
            return Err(Some(format!("{name} {shown} is out of range {lo}-{hi}")));
        }
        return Ok(n);
    }
    let lower = text.to_ascii_lowercase();
    let names: &[&str] = match index {
        3 => &MONTHS,
        4 => &DAYS,
        _ => &[],
    };
    names
        .iter()
        .position(|n| *n == lower)
        .map(|i| i as u32 + if index == 3 { 1 } else { 0 })
        .ok_or(None)
}

/// The longest duration accepted anywhere (retention windows, `--since`): 100 years.
pub const MAX_DURATION_DAYS: i64 = 36_500;

/// Parses `30m`, `12h`, `14d`, `2w`, `1y` (a year is 365 days), from one
/// minute to [`MAX_DURATION_DAYS`], so the result can be added to or taken
/// from any time Strata handles without overflow.
pub fn parse_duration(s: &str) -> Result<TimeDelta, String> {
    let t = s.trim();
    let shown = super::bounds::escape_controls(s);
    let bad = || {
        format!(
            "duration {shown:?} is not valid; use a number and a unit: m, h, d, w or y (e.g. 14d)"
        )
    };
    let out_of_range = || format!("duration {shown:?} is out of range; use 1m to 100y (36500d)");
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(bad());
    }
    let minutes_per = match unit {
        "m" => 1,
        "h" => 60,
        "d" => 1_440,
        "w" => 10_080,
        "y" => 525_600,
        _ => return Err(bad()),
    };
    let n: i64 = num.parse().map_err(|_| out_of_range())?;
    let minutes = n.checked_mul(minutes_per).ok_or_else(out_of_range)?;
    if minutes == 0 {
        return Err(format!(
            "duration {shown:?} is zero; use 1m to 100y (36500d)"
        ));
    }
    if minutes > MAX_DURATION_DAYS * 1_440 {
        return Err(out_of_range());
    }
    TimeDelta::try_minutes(minutes).ok_or_else(out_of_range)
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

    #[test]
    fn cron_messages_speak_five_fields() {
        assert_eq!(
            parse_cron("0 25 * * *").unwrap_err(),
            "schedule \"0 25 * * *\": hour 25 is out of range 0-23"
        );
        assert!(parse_cron("59 23 31 12 7").is_ok());
        let e = parse_cron("60 3 * * *").unwrap_err();
        assert!(e.contains("minute 60 is out of range 0-59"), "{e}");
        let e = parse_cron("@dayly").unwrap_err();
        assert!(
            e.contains("unknown schedule macro; did you mean @daily? use @hourly, @daily"),
            "{e}"
        );
        let e = parse_cron("@sometimes").unwrap_err();
        assert!(e.contains("unknown schedule macro; use @hourly"), "{e}");
        for word in ["daily", "dayly", "Hourly"] {
            let e = parse_cron(word).unwrap_err();
            assert!(
                e.contains("did you mean @") && !e.contains("fields;"),
                "{e}"
            );
        }
        let e = parse_cron("often").unwrap_err();
        assert!(e.contains("is not a schedule"), "{e}");
        let e = parse_cron("0 3 30 2 *").unwrap_err();
        assert!(
            e.contains("can never fire") && e.contains("February"),
            "{e}"
        );
        assert!(parse_cron("0 3 29 2 *").is_ok(), "leap years have it");
        assert!(parse_cron("0 3 31 4,5 *").is_ok(), "May has a 31st");
        assert!(parse_cron("*/0 * * * *").unwrap_err().contains("step"));
        assert!(parse_cron("5-1 * * * *").unwrap_err().contains("backwards"));
        assert!(parse_cron("0 3 * jan-mar mon-fri").is_ok());
        assert!(parse_cron("0 3 * * 5-7").is_ok(), "Friday to Sunday");
        for e in ["0 99999999999999999999 * * *", "0 3 * * 8", "x 3 * * *"] {
            let m = parse_cron(e).unwrap_err();
            assert!(!m.contains("0 0 ") && !m.contains("less than"), "{m}");
        }
    }

    #[test]
    fn durations_are_bounded() {
        assert_eq!(parse_duration("100y").unwrap(), TimeDelta::days(36_500));
        assert_eq!(parse_duration("36500d").unwrap(), TimeDelta::days(36_500));
        for big in [
            "292000y",
            "36501d",
            "99999999999999999999m",
            "9223372036854775807w",
        ] {
            let e = parse_duration(big).unwrap_err();
            assert!(e.contains("out of range; use 1m to 100y"), "{e}");
        }
    }

    use proptest::prelude::*;
    proptest! {
        #[test]
        fn duration_never_panics_and_is_bounded(s in "[0-9]{0,25}[mhdwyx]?|\\PC{0,12}") {
            if let Ok(d) = parse_duration(&s) {
                prop_assert!(d >= TimeDelta::minutes(1));
                prop_assert!(d <= TimeDelta::days(MAX_DURATION_DAYS));
                prop_assert!(chrono::Utc::now().checked_sub_signed(d).is_some());
            }
        }

        #[test]
        fn cron_never_panics_and_fires(
            fields in proptest::collection::vec(
                "\\*|[0-9]{1,3}|[0-9]{1,2}-[0-9]{1,2}|\\*/[0-9]{1,2}|[0-9],[0-9]{1,2}|[a-z]{3}|\\PC{0,4}", 0..7)
        ) {
            let expr = fields.join(" ");
            if let Ok(s) = parse_cron(&expr) {
                prop_assert!(s.upcoming(chrono::Utc).next().is_some());
            }
        }

        #[test]
        fn cron_errors_are_one_line_in_the_users_form(m in 0u32..200, h in 0u32..100, d in 0u32..50, mo in 0u32..20, w in 0u32..12) {
            let expr = format!("{m} {h} {d} {mo} {w}");
            match parse_cron(&expr) {
                Ok(_) => prop_assert!(m < 60 && h < 24 && (1..=31).contains(&d) && (1..=12).contains(&mo) && w <= 7),
                Err(e) => {
                    prop_assert!(e.starts_with(&format!("schedule {expr:?}")), "{}", e);
                    prop_assert!(!e.contains('\n'));
                }
            }
        }
    }
}
