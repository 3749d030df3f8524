//! Fitting table columns into a terminal's width: text that shortens in the
//! middle (`billing-…-east`, so names that share a prefix stay apart), and
//! a column layout that drops optional columns and shrinks the least
//! important ones before it touches names.

use ratatui::text::Span;

/// Display width of `s` in terminal columns.
pub fn width_of(s: &str) -> usize {
    Span::raw(s).width()
}

fn char_width(c: char) -> usize {
    let mut buf = [0u8; 4];
    width_of(c.encode_utf8(&mut buf))
}

/// `s` in at most `width` columns: whole if it fits, else its start and its
/// end around `…` (the end gets the smaller half: names differ at their
/// start more often than at their end).
pub fn middle_ellipsis(s: &str, width: usize) -> String {
    if width_of(s) <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let room = width - 1;
    let tail_room = room / 2;
    let head_room = room - tail_room;
    let mut head = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        if used + w > head_room {
            break;
        }
        used += w;
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut tail_used = 0;
    for c in s.chars().rev() {
        let w = char_width(c);
        if tail_used + w > tail_room {
            break;
        }
        tail_used += w;
        tail.push(c);
    }
    tail.reverse();
    let mut out = head;
    out.push('…');
    out.extend(tail);
    out
}

/// The narrowest width from `least` up to the widest name at which every
/// name still reads differently once shortened with [`middle_ellipsis`].
pub fn distinct_width<'a>(names: impl Iterator<Item = &'a str> + Clone, least: usize) -> usize {
    let widest = names.clone().map(width_of).max().unwrap_or(0);
    (least.min(widest)..widest)
        .find(|&w| {
            let mut seen = std::collections::HashSet::new();
            names.clone().all(|n| seen.insert(middle_ellipsis(n, w)))
        })
        .unwrap_or(widest)
}

/// The first of `forms` (in order of preference) that fits in `width`,
/// else the narrowest of them.
pub fn choose(forms: Vec<String>, width: usize) -> String {
    let narrowest = forms
        .iter()
        .min_by_key(|f| width_of(f))
        .cloned()
        .unwrap_or_default();
    forms
        .into_iter()
        .find(|f| width_of(f) <= width)
        .unwrap_or(narrowest)
}

/// Widest and narrowest of `forms`.
pub fn extent(forms: &[String]) -> (usize, usize) {
    let widths = forms.iter().map(|f| width_of(f));
    (widths.clone().max().unwrap_or(0), widths.min().unwrap_or(0))
}

/// One column of a table to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    /// Width that shows every cell whole.
    pub want: usize,
    /// Narrowest width that still says everything (a required column
    /// always gets it while the terminal has room for every least width).
    pub least: usize,
    /// Shown only when there is room for it whole.
    pub optional: bool,
    /// When the column claims room (lower first): a required column grows
    /// from `least` to `want`, an optional one joins at `want` or stays out.
    /// What claims first is what shrinks last.
    pub rank: u8,
}

/// Widths for `cols` in `avail` columns with `gap` between columns: `None`
/// for an optional column left out. Required columns start at their least
/// widths; then each column in rank order takes what it wants of the room
/// left. When even the least widths do not fit, the columns that claim last
/// give up room first.
pub fn layout(cols: &[Col], avail: usize, gap: usize) -> Vec<Option<usize>> {
    let mut out: Vec<Option<usize>> = cols
        .iter()
        .map(|c| (!c.optional).then_some(c.least))
        .collect();
    let used = |out: &[Option<usize>]| {
        let shown: Vec<usize> = out.iter().flatten().copied().collect();
        shown.iter().sum::<usize>() + gap * shown.len().saturating_sub(1)
    };
    let mut order: Vec<usize> = (0..cols.len()).collect();
    order.sort_by_key(|&i| cols[i].rank);
    for &i in order.iter().rev() {
        let over = used(&out).saturating_sub(avail);
        if over == 0 {
            break;
        }
        if let Some(w) = out[i].as_mut() {
            *w -= over.min(*w);
        }
    }
    for &i in &order {
        let spare = avail.saturating_sub(used(&out));
        let c = cols[i];
        let now = out[i];
        match now {
            Some(w) => out[i] = Some(w + spare.min(c.want.saturating_sub(w))),
            None if spare >= c.want + gap => out[i] = Some(c.want),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_shorten_in_the_middle() {
        assert_eq!(middle_ellipsis("billing-us-east", 20), "billing-us-east");
        assert_eq!(middle_ellipsis("billing-us-east", 14), "billing…s-east");
        assert_eq!(
            middle_ellipsis("billing-eu-west-east", 14),
            "billing…t-east"
        );
        assert_eq!(middle_ellipsis("abcdef", 1), "…");
        assert_eq!(middle_ellipsis("abcdef", 0), "");
        assert_eq!(middle_ellipsis("abcdef", 2), "a…");
    }

    #[test]
    fn shortened_names_stay_apart() {
        let names = [
            "billing-postgres-eu-west-replica",
            "billing-postgres-us-east-replica",
            "web",
        ];
        let w = distinct_width(names.iter().copied(), 8);
        let short: Vec<String> = names.iter().map(|n| middle_ellipsis(n, w)).collect();
        assert_ne!(short[0], short[1], "{short:?}");
        assert!(w < 32, "{w}");
        assert!(!names.is_empty() && distinct_width(["a", "b"].iter().copied(), 8) <= 8);
    }

    #[test]
    fn columns_claim_room_in_rank_order() {
        let col = |want, least, optional, rank| Col {
            want,
            least,
            optional,
            rank,
        };
        let cols = [
            col(30, 10, false, 0),
            col(30, 14, false, 2),
            col(10, 10, true, 1),
        ];
        assert_eq!(layout(&cols, 100, 1), vec![Some(30), Some(30), Some(10)]);
        assert_eq!(layout(&cols, 61, 1), vec![Some(30), Some(19), Some(10)]);
        assert_eq!(layout(&cols, 50, 1), vec![Some(30), Some(19), None]);
        assert_eq!(layout(&cols, 30, 1), vec![Some(15), Some(14), None]);
        // Below the least widths the last to claim gives up room first.
        assert_eq!(layout(&cols, 20, 1), vec![Some(10), Some(9), None]);
    }

    proptest! {
        #[test]
        fn any_name_at_any_width_fits(name in "\\PC{0,80}", width in 0usize..100) {
            let s = middle_ellipsis(&name, width);
            prop_assert!(width_of(&s) <= width, "{s:?} is wider than {width}");
            if width_of(&name) <= width {
                prop_assert_eq!(s, name);
            }
        }

        #[test]
        fn layouts_fit_when_the_least_widths_do(
            wants in proptest::collection::vec((1usize..40, 0usize..40, any::<bool>(), 0u8..5), 1..9),
            avail in 0usize..250,
        ) {
            let cols: Vec<Col> = wants
                .iter()
                .map(|&(want, least, optional, rank)| Col { want, least: least.min(want), optional, rank })
                .collect();
            let got = layout(&cols, avail, 1);
            prop_assert_eq!(got.len(), cols.len());
            let required = cols.iter().filter(|c| !c.optional).count();
            let least: usize = cols.iter().filter(|c| !c.optional).map(|c| c.least + 1).sum();
            let shown: Vec<usize> = got.iter().flatten().copied().collect();
            let total = shown.iter().sum::<usize>() + shown.len().saturating_sub(1);
            // Gaps alone may not fit; the widths always give way.
            if required <= avail + 1 {
                prop_assert!(total <= avail.max(required.saturating_sub(1)), "{total} > {avail}");
            }
            for (c, w) in cols.iter().zip(&got) {
                match w {
                    Some(w) => {
                        prop_assert!(*w <= c.want.max(c.least));
                        if least <= avail + 1 {
                            prop_assert!(*w >= c.least);
                        }
                    }
                    None => prop_assert!(c.optional),
                }
            }
        }
    }
}
