//! Schedules in the few columns the Tasks table has: every cron shape and
//! macro Strata accepts in the shortest words that still say when it fires
//! (`daily 03:00`, `weekly Sun 02:00`, `*/15m`). The detail view spells them
//! out in full (`human::cron`); the cron text is shown only when no short
//! form exists, and only when it fits.

use super::fit::{choose, extent};

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A field value: a number up to `max`, or (for months and days) its name.
fn value(s: &str, max: u32, names: &[&str], first: u32) -> Option<u32> {
    if let Ok(n) = s.parse::<u32>() {
        return (n <= max).then_some(n);
    }
    names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(s))
        .map(|i| i as u32 + first)
}

fn day(s: &str) -> Option<usize> {
    value(s, 7, &DAYS, 0).map(|d| (d % 7) as usize)
}

/// Days of the week: `Sun`, `Mon-Fri`, `Mon,Wed,Fri`.
fn days(dow: &str) -> Option<String> {
    if let Some(d) = day(dow) {
        return Some(DAYS[d].to_string());
    }
    if let Some((a, b)) = dow.split_once('-') {
        return Some(format!("{}-{}", DAYS[day(a)?], DAYS[day(b)?]));
    }
    let list: Option<Vec<&str>> = dow.split(',').map(|d| day(d).map(|d| DAYS[d])).collect();
    list.map(|l| l.join(","))
}

fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// A step field (`*/N`) as N, if it is one.
fn step(s: &str, max: u32) -> Option<u32> {
    s.strip_prefix("*/")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (1..=max).contains(n))
}

/// The short forms of one schedule, longest first; empty when none of
/// the shapes below matches (then only the cron text says it).
pub fn forms(expr: &str) -> Vec<String> {
    let e = expr.trim();
    let fields: Vec<&str> = match e.to_ascii_lowercase().as_str() {
        "@hourly" => vec!["0", "*", "*", "*", "*"],
        "@daily" | "@midnight" => vec!["0", "0", "*", "*", "*"],
        "@weekly" => vec!["0", "0", "*", "*", "0"],
        "@monthly" => vec!["0", "0", "1", "*", "*"],
        "@yearly" | "@annually" => vec!["0", "0", "1", "1", "*"],
        _ => e.split_whitespace().collect(),
    };
    let [min, hour, dom, month, dow] = fields[..] else {
        return Vec::new();
    };
    let dow = if dow == "?" { "*" } else { dow };
    let dom = if dom == "?" { "*" } else { dom };
    let every_day = dom == "*" && month == "*" && dow == "*";
    let m = value(min, 59, &[], 0);
    if every_day && hour == "*" {
        if min == "*" || step(min, 59) == Some(1) {
            return vec!["every minute".into(), "1m".into()];
        }
        if let Some(n) = step(min, 59) {
            return vec![format!("every {n}m"), format!("*/{n}m")];
        }
        if let Some(m) = m {
            if m == 0 {
                return vec!["hourly".into(), "1h".into()];
            }
            return vec![format!("hourly :{m:02}"), format!("1h:{m:02}")];
        }
        return Vec::new();
    }
    if every_day && let (Some(m), Some(n)) = (m, step(hour, 23)) {
        if m == 0 {
            return vec![format!("every {n}h"), format!("*/{n}h")];
        }
        return vec![format!("every {n}h :{m:02}"), format!("*/{n}h:{m:02}")];
    }
    let Some(m) = m else { return Vec::new() };
    // Several hours of the day at one minute: `daily 03:00,15:00`.
    let hours: Option<Vec<u32>> = hour.split(',').map(|h| value(h, 23, &[], 0)).collect();
    let Some(hours) = hours.filter(|h| !h.is_empty() && h.len() <= 3) else {
        return Vec::new();
    };
    let at = hours
        .iter()
        .map(|h| format!("{h:02}:{m:02}"))
        .collect::<Vec<_>>()
        .join(",");
    if every_day {
        return vec![format!("daily {at}"), at];
    }
    if dom == "*" && month == "*" {
        let Some(d) = days(dow) else {
            return Vec::new();
        };
        if d == "Mon-Fri" {
            return vec![format!("weekdays {at}"), format!("{d} {at}")];
        }
        if !d.contains(['-', ',']) {
            return vec![format!("weekly {d} {at}"), format!("{d} {at}")];
        }
        return vec![format!("{d} {at}")];
    }
    if dow != "*" {
        return Vec::new();
    }
    let Some(dm) = value(dom, 31, &[], 0).filter(|d| *d >= 1) else {
        return Vec::new();
    };
    if month == "*" {
        return vec![
            format!("monthly {} {at}", ordinal(dm)),
            format!("{} {at}", ordinal(dm)),
        ];
    }
    match value(month, 12, &MONTHS, 1).filter(|m| *m >= 1) {
        Some(mo) => {
            let date = format!("{} {dm}", MONTHS[(mo - 1) as usize]);
            vec![format!("yearly {date} {at}"), format!("{date} {at}")]
        }
        None => Vec::new(),
    }
}

/// One schedule in at most `width` columns: the longest short form that
/// fits, else the cron text if it fits, else the shortest form there is
/// (the table gives SCHEDULE at least that much).
pub fn short(expr: &str, width: usize) -> String {
    let mut all = forms(expr);
    all.push(expr.trim().to_string());
    choose(all, width)
}

/// A task's schedules (`full`, `incr`, `diff`) in one cell of at most
/// `width` columns: `full daily 03:00 · incr hourly`, then shorter forms,
/// then one-letter kinds (`f 03:00 · i 1h`); `manual` without any.
pub fn task(schedules: &[(&str, Option<&str>)], width: usize) -> String {
    let set: Vec<(&str, &str)> = schedules
        .iter()
        .filter_map(|(k, v)| v.map(|v| (*k, v)))
        .collect();
    if set.is_empty() {
        return "manual".into();
    }
    choose(task_forms(&set), width)
}

/// Every form of a task's schedules, in order of preference: whole kinds
/// before one-letter ones, longer words before shorter.
fn task_forms(set: &[(&str, &str)]) -> Vec<String> {
    // Per schedule: its forms longest first, the cron text last.
    let each: Vec<Vec<String>> = set
        .iter()
        .map(|(_, e)| {
            let mut f = forms(e);
            if f.is_empty() {
                f.push(e.trim().to_string());
            }
            f
        })
        .collect();
    let mut out = Vec::new();
    let deepest = each.iter().map(Vec::len).max().unwrap_or(1);
    for (letters, join) in [(false, " · "), (true, " · "), (true, "·")] {
        for level in 0..deepest {
            let parts: Vec<String> = set
                .iter()
                .zip(&each)
                .map(|((k, _), f)| {
                    let text = f.get(level).or(f.last()).map_or("", String::as_str);
                    let kind = if letters { k.get(..1).unwrap_or(k) } else { k };
                    format!("{kind} {text}")
                })
                .collect();
            out.push(parts.join(join));
        }
    }
    out
}

/// Widths a task's schedule cell wants: (longest form, shortest form).
pub fn task_widths(schedules: &[(&str, Option<&str>)]) -> (usize, usize) {
    let set: Vec<(&str, &str)> = schedules
        .iter()
        .filter_map(|(k, v)| v.map(|v| (*k, v)))
        .collect();
    if set.is_empty() {
        return (6, 6);
    }
    extent(&task_forms(&set))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn first(e: &str) -> String {
        forms(e).first().cloned().unwrap_or_default()
    }

    #[test]
    fn cron_shapes_read_short() {
        assert_eq!(first("* * * * *"), "every minute");
        assert_eq!(first("*/1 * * * *"), "every minute");
        assert_eq!(first("*/3 * * * *"), "every 3m");
        assert_eq!(first("0 * * * *"), "hourly");
        assert_eq!(first("15 * * * *"), "hourly :15");
        assert_eq!(first("0 */6 * * *"), "every 6h");
        assert_eq!(first("30 */2 * * *"), "every 2h :30");
        assert_eq!(first("0 3 * * *"), "daily 03:00");
        assert_eq!(first("0 3,15 * * *"), "daily 03:00,15:00");
        assert_eq!(first("0 2 * * 0"), "weekly Sun 02:00");
        assert_eq!(first("0 2 * * 7"), "weekly Sun 02:00");
        assert_eq!(first("0 2 * * sun"), "weekly Sun 02:00");
        assert_eq!(first("0 2 * * 1-5"), "weekdays 02:00");
        assert_eq!(first("0 2 * * 1-6"), "Mon-Sat 02:00");
        assert_eq!(first("0 2 * * 1,3,5"), "Mon,Wed,Fri 02:00");
        assert_eq!(first("0 4 1 * *"), "monthly 1st 04:00");
        assert_eq!(first("0 4 22 * *"), "monthly 22nd 04:00");
        assert_eq!(first("0 4 11 * *"), "monthly 11th 04:00");
        assert_eq!(first("0 0 1 jan *"), "yearly Jan 1 00:00");
        assert_eq!(first("0 0 1 7 *"), "yearly Jul 1 00:00");
        assert_eq!(first("0 3 ? * *"), "daily 03:00");
    }

    #[test]
    fn macros_read_short() {
        assert_eq!(first("@hourly"), "hourly");
        assert_eq!(first("@daily"), "daily 00:00");
        assert_eq!(first("@midnight"), "daily 00:00");
        assert_eq!(first("@weekly"), "weekly Sun 00:00");
        assert_eq!(first("@monthly"), "monthly 1st 00:00");
        assert_eq!(first("@yearly"), "yearly Jan 1 00:00");
        assert_eq!(first("@ANNUALLY"), "yearly Jan 1 00:00");
    }

    #[test]
    fn shapes_without_words_show_the_cron_text_only_if_it_fits() {
        assert!(forms("*/15 9-17 * * 1-5").is_empty());
        assert!(forms("0 4 1 * 1").is_empty());
        assert!(forms("0 1,2,3,4 * * *").is_empty());
        assert_eq!(short("*/15 9-17 * * 1-5", 40), "*/15 9-17 * * 1-5");
        assert_eq!(short("0 3 * * *", 40), "daily 03:00");
        assert_eq!(short("0 3 * * *", 6), "03:00");
        assert_eq!(short("*/3 * * * *", 5), "*/3m");
    }

    #[test]
    fn a_task_fits_its_width() {
        let s = [
            ("full", Some("0 3 * * *")),
            ("incr", Some("0 * * * *")),
            ("diff", None),
        ];
        assert_eq!(task(&s, 40), "full daily 03:00 · incr hourly");
        assert_eq!(task(&s, 20), "full 03:00 · incr 1h");
        assert_eq!(task(&s, 14), "f 03:00 · i 1h");
        assert_eq!(task(&s, 12), "f 03:00·i 1h");
        assert_eq!(task_widths(&s), (30, 12));
        let m = [("full", Some("*/3 * * * *")), ("incr", Some("* * * * *"))];
        assert_eq!(task(&m, 19), "full */3m · incr 1m");
        assert_eq!(task(&[("full", None)], 3), "manual");
        let w = [("full", Some("0 2 * * 0"))];
        assert_eq!(task(&w, 40), "full weekly Sun 02:00");
        // No short form and too long: the shortest form, never a cut cron text.
        let odd = [("full", Some("*/15 9-17 * * 1-5"))];
        assert_eq!(task(&odd, 10), "f */15 9-17 * * 1-5");
    }
}
