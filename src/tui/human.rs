//! Cron schedules in words, for the task detail view. Only the shapes people
//! write by hand are translated; anything else is shown as the cron text.

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const DAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn num(s: &str, max: u32) -> Option<u32> {
    s.parse().ok().filter(|n| *n <= max)
}

fn days(dow: &str) -> Option<String> {
    if dow == "*" {
        return Some("daily".into());
    }
    let day = |s: &str| num(s, 7).map(|n| (n % 7) as usize);
    if let Some(d) = day(dow) {
        return Some(format!("every {}", DAY_NAMES[d]));
    }
    if let Some((a, b)) = dow.split_once('-') {
        let (a, b) = (day(a)?, day(b)?);
        if (a, b) == (1, 5) {
            return Some("weekdays".into());
        }
        return Some(format!("{}–{}", DAYS[a], DAYS[b]));
    }
    let list: Option<Vec<&str>> = dow.split(',').map(|d| day(d).map(|d| DAYS[d])).collect();
    list.map(|l| l.join(", "))
}

/// `0 2 * * 0` → `every Sunday at 02:00`; `*/15 * * * *` → `every 15 minutes`;
/// other expressions are returned unchanged.
pub fn cron(expr: &str) -> String {
    let e = expr.trim();
    let fields: Vec<&str> = match e {
        "@hourly" => vec!["0", "*", "*", "*", "*"],
        "@daily" | "@midnight" => vec!["0", "0", "*", "*", "*"],
        "@weekly" => vec!["0", "0", "*", "*", "0"],
        _ => e.split_whitespace().collect(),
    };
    let [min, hour, dom, month, dow] = fields[..] else {
        return e.to_string();
    };
    if dom != "*" || month != "*" {
        return e.to_string();
    }
    if let (Some(m), Some(h), Some(d)) = (num(min, 59), num(hour, 23), days(dow)) {
        return format!("{d} at {h:02}:{m:02}");
    }
    if hour == "*" && dow == "*" {
        if let Some(n) = min.strip_prefix("*/").and_then(|n| num(n, 59)) {
            return format!("every {n} minutes");
        }
        if let Some(m) = num(min, 59) {
            return format!("hourly at :{m:02}");
        }
    }
    if dow == "*"
        && let (Some(m), Some(n)) = (num(min, 59), hour.strip_prefix("*/"))
        && let Some(n) = num(n, 23)
    {
        return format!("every {n} hours at :{m:02}");
    }
    e.to_string()
}

/// Width of an ID column: the longest id shown, at least the 20 of older
/// `YYYYMMDD-HHMMSS-xxxx` ids, so a full id is always there to copy.
pub fn id_width<'a>(ids: impl Iterator<Item = &'a str>) -> usize {
    ids.map(|i| i.chars().count())
        .max()
        .unwrap_or(20)
        .clamp(20, 64)
}

#[cfg(test)]
mod tests {
    use super::cron;

    #[test]
    fn common_shapes_read_as_words() {
        assert_eq!(cron("0 2 * * 0"), "every Sunday at 02:00");
        assert_eq!(cron("0 2 * * 1-6"), "Mon–Sat at 02:00");
        assert_eq!(cron("30 1 * * *"), "daily at 01:30");
        assert_eq!(cron("0 3 * * 1-5"), "weekdays at 03:00");
        assert_eq!(cron("*/5 * * * *"), "every 5 minutes");
        assert_eq!(cron("15 * * * *"), "hourly at :15");
        assert_eq!(cron("0 */6 * * *"), "every 6 hours at :00");
        assert_eq!(cron("@daily"), "daily at 00:00");
        assert_eq!(cron("0 4 1 * *"), "0 4 1 * *");
    }
}
