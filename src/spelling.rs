//! Near misses: which of the words a user could have meant is closest to
//! what they typed, for "did you mean …" in error messages.

/// Edit distance (insertions, deletions, substitutions) between two strings.
pub fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The closest of `options` to `typed`, when it is close enough to be a typo
/// (at most a third of its characters, and at least 2, differ).
pub fn closest<'a>(typed: &str, options: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (typed.chars().count() / 3).max(2);
    options
        .into_iter()
        .map(|o| (distance(typed, o), o))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, o)| o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn typos_find_their_word_and_strangers_find_none() {
        assert_eq!(distance("dayly", "daily"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(
            closest("dayly", ["hourly", "daily", "weekly"]),
            Some("daily")
        );
        assert_eq!(closest("zzzzzz", ["hourly", "daily"]), None);
    }

    proptest! {
        #[test]
        fn distance_is_symmetric_and_bounded(a in "\\PC{0,20}", b in "\\PC{0,20}") {
            let d = distance(&a, &b);
            prop_assert_eq!(d, distance(&b, &a));
            prop_assert!(d <= a.chars().count().max(b.chars().count()));
        }
    }
}
