//! The pinned ending: a sentence at a point of the text that the writing must lead into.

use serde::{Deserialize, Serialize};

/// A sentence the generated text must lead into: pinned at `at` (a char offset in the
/// request's text; after the text and its continuation when `None`), with `gap` masks written
/// right before it. It is read by the model and kept in the result exactly as
/// [`Ending::written`] gives it; nothing is ever generated into it.
///
/// ```
/// use dream_engine::request::Ending;
///
/// let end: Ending = serde_json::from_str(r#"{"text": "And then there was silence.", "at": 12, "gap": 16}"#).unwrap();
/// assert_eq!(end.written(), " And then there was silence.");
/// assert_eq!(Ending::after_text(", she said.").written(), ", she said.");
/// ```
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ending {
    pub text: String,
    #[serde(default)]
    pub at: Option<usize>,
    #[serde(default)]
    pub gap: usize,
}

impl Ending {
    /// An ending after the text and its continuation, with no gap of its own (the
    /// continuation leads into it).
    pub fn after_text(text: impl Into<String>) -> Self {
        Ending { text: text.into(), at: None, gap: 0 }
    }

    /// The ending as the model reads it after the gap: trailing white space and leading
    /// spaces dropped, then the one space a sentence needs before it (Dream's words carry their
    /// leading space), unless it starts a new line or with closing punctuation. Empty when
    /// the ending is blank: a blank ending is no ending.
    pub fn written(&self) -> String {
        let t = self.text.trim_end().trim_start_matches([' ', '\t']);
        if t.is_empty() || t.starts_with(['\n', '\r', '.', ',', ';', ':', '!', '?', ')', ']', '»', '”', '’']) {
            t.to_owned()
        } else {
            format!(" {t}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ending_reads_as_the_next_sentence() {
        let written = |t: &str| Ending::after_text(t).written();
        assert_eq!(written("The end."), " The end.");
        assert_eq!(written("  The end.  "), " The end.");
        assert_eq!(written(" The end."), " The end.");
        assert_eq!(written(". The end."), ". The end.");
        assert_eq!(written("” she said."), "” she said.");
        assert_eq!(written("\n\nChapter two."), "\n\nChapter two.");
        assert_eq!(written(" \t "), "");
    }
}
