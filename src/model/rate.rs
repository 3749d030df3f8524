//! Transfer rates as people write them: `20MiB/s`, `500 KB/s`, `1GB`.

/// Parses a rate into bytes per second: a whole or decimal number, a unit
/// (`B`, `KB`/`KiB`, `MB`/`MiB`, `GB`/`GiB`; decimal units are powers of
/// 1000) and an optional `/s`. At least 1 KiB/s: a slower limit would
/// stretch a backup into days without anyone noticing why.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let shown: String = text.chars().take(40).collect();
    let bad = |why: &str| format!("rate {shown:?} {why}; write it like 20MiB/s or 500KB/s");
    let t = text.trim();
    let t = t.strip_suffix("/s").unwrap_or(t).trim_end();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| bad("does not start with a number"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "b" => 1.0,
        "kb" | "k" => 1e3,
        "kib" => 1024.0,
        "mb" | "m" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "gb" | "g" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "" => return Err(bad("has no unit")),
        _ => return Err(bad("has an unknown unit")),
    };
    let bytes = n * mult;
    if !bytes.is_finite() || bytes > 1e15 {
        return Err(bad("is too large"));
    }
    if bytes < 1024.0 {
        return Err(bad("is below 1KiB/s"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_rate;
    use proptest::prelude::*;

    #[test]
    fn rates_in_the_units_people_write() {
        assert_eq!(parse_rate("20MiB/s"), Ok(20 * 1024 * 1024));
        assert_eq!(parse_rate("500 KB/s"), Ok(500_000));
        assert_eq!(parse_rate("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_rate(" 4kib/s "), Ok(4096));
        for bad in [
            "",
            "fast",
            "20",
            "20 parsecs/s",
            "100B/s",
            "-5MB/s",
            "1e30GB",
        ] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn rate_parsing_never_panics_and_errors_stay_short(s in ".{0,200}") {
            if let Err(e) = parse_rate(&s) {
                prop_assert!(e.len() < 300);
            }
        }
    }
}
