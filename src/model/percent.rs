//! Percentages as people write them: `10`, `10%`.

/// Parses a percentage of 1-100, with or without `%` (`10`, `10%`).
pub fn parse_percent(s: &str) -> Result<u8, String> {
    let t = s.trim();
    let digits = t.strip_suffix('%').unwrap_or(t).trim();
    match digits.parse::<u8>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err(format!(
            "{:?} is not a percentage; give a whole number from 1 to 100, e.g. 10",
            t.chars().take(40).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_percent;
    use proptest::prelude::*;

    #[test]
    fn percentages_take_whole_numbers_from_1_to_100() {
        assert_eq!(parse_percent("10"), Ok(10));
        assert_eq!(parse_percent(" 100% "), Ok(100));
        for bad in ["0", "101", "-5", "ten", "", "%", "1.5"] {
            assert!(parse_percent(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn percent_parsing_never_panics_and_errors_stay_short(s in ".{0,300}") {
            if let Err(e) = parse_percent(&s) {
                prop_assert!(e.len() < 400);
            }
        }
    }
}
