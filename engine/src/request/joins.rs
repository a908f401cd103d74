//! How a fill meets the text on either side: the one place this rule lives, so the CLI and the
//! app write the same text. Dream's words carry their leading space (" word"), and the writer's
//! text has its own spacing; a join keeps one of the two, never both.

/// What closes a phrase: no space goes before it (nor before white space).
const CLOSING: [char; 11] = ['.', ',', ';', ':', '!', '?', ')', ']', '»', '”', '’'];

/// `fill` as it is written between `before` (what precedes it as written) and `after` (what
/// follows it), and how many chars it lost at its start: its leading white space where
/// `before` already ends with white space, and its trailing spaces where `after` starts with
/// white space or closing punctuation.
pub(super) fn joined<'a>(before: &str, fill: &'a str, after: &str) -> (&'a str, usize) {
    let start = if before.ends_with(char::is_whitespace) { fill.len() - fill.trim_start().len() } else { 0 };
    let rest = &fill[start..];
    let closes = after.starts_with(|c: char| c.is_whitespace() || CLOSING.contains(&c));
    let kept = if closes { rest.trim_end_matches([' ', '\t']) } else { rest };
    (kept, fill[..start].chars().count())
}

#[cfg(test)]
mod tests {
    use super::joined;

    #[test]
    fn a_join_keeps_one_space_and_none_before_closing_punctuation() {
        let j = |b, f, a| joined(b, f, a).0;
        assert_eq!(j("It rained. ", " The sky", "After."), "The sky");
        assert_eq!(j("It rained.", " The sky", " After."), " The sky");
        assert_eq!(j("It rained.", " The sky ", " After."), " The sky");
        assert_eq!(j("It rained.", " The sky ", ". After."), " The sky");
        assert_eq!(j("It rained.", " The sky ", "After."), " The sky ");
        assert_eq!(j("It rained.\n", "\n The sky", ""), "The sky");
        assert_eq!(j("", " The sky", ""), " The sky");
        assert_eq!(joined("Before. ", "  Rain fell", "").1, 2);
        assert_eq!(j("a ", " ", " b"), "");
    }

    /// Many fills, gaps and endings (a double space once came with seed 23 and gap 12).
    #[test]
    fn a_join_never_doubles_a_space_or_puts_one_before_punctuation() {
        let mut seed: u64 = 23;
        let mut pick = |n: usize| {
            seed = (seed * 1_103_515_245 + 12_345) % (1 << 31);
            seed as usize % n
        };
        let words = [" The", " sky", "wept", ".", " ", "\n", ""];
        let heads = ["It rained.", "It rained. ", "It rained.\n", ""];
        let tails = ["", " After.", "After.", ".", "\nAfter."];
        // As `Ending::written` gives them.
        let endings = [None, Some(" Nobody came."), Some(", said she.")];
        let bad = |s: &str| s.contains("  ") || s.contains(" .") || s.contains(" ,") || s.contains("\n Nobody");
        let mut checked = 0;
        for i in 0..2000 {
            let fill: String = (0..1 + i % 5).map(|_| words[pick(words.len())]).collect();
            let (head, tail, ending) =
                (heads[pick(heads.len())], tails[pick(tails.len())], endings[pick(endings.len())]);
            if fill.contains("  ") || fill.contains(" .") || fill.trim_start().starts_with('.') {
                continue; // the model's own doubling is not a join's
            }
            let own = ending.is_some_and(|e| e.starts_with(',')) && head.ends_with(' ') && fill.trim().is_empty();
            if own || bad(&format!("{head}{tail}")) {
                continue; // the writer's own space
            }
            let written = joined(head, &fill, ending.unwrap_or(tail)).0;
            let before = format!("{head}{written}");
            let ending = ending.map_or("", |e| joined(&before, e, tail).0);
            let out = format!("{before}{ending}{tail}");
            assert!(!bad(&out), "{head:?} {fill:?} {ending:?} {tail:?}: {out:?}");
            checked += 1;
        }
        assert!(checked > 500, "{checked}");
    }
}
