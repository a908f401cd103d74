//! Which characters of a document the model wrote, kept beside it in `<file>.authorship.json`
//! (never inside the prose): an open format that other tools can read, documented in
//! `docs/authorship.md`. Ranges count Unicode scalar values; each carries the SHA-256 of the
//! text it covers, so a range that no longer matches (the file was edited elsewhere) is dropped
//! rather than put on the wrong words.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::documents::fingerprint;
use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::files::write_atomic;

/// A model-written range of the editor's text, in UTF-16 code units (the page's offsets).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authored {
    pub from: u32,
    pub to: u32,
    /// The model that wrote it, as the app names it when loaded (`ModelInfo::author`); ranges
    /// kept by older versions say only that a model wrote them.
    #[serde(default = "unrecorded")]
    pub by: String,
}

/// Who wrote ranges that an older version kept without saying which model.
pub fn unrecorded() -> String {
    "a model in Dream Writer (which one was not recorded)".into()
}

/// The sidecar's `format` value.
pub const FORMAT: &str = "dream-writer/authorship";
/// More ranges than this in one document is not a record of real edits.
pub const MAX_RANGES: usize = 100_000;
/// A sidecar larger than this is not read.
const MAX_SIDECAR_BYTES: u64 = 32 << 20;

#[derive(Serialize, Deserialize)]
struct Sidecar {
    format: String,
    version: u32,
    /// The document's file name, for a reader that finds the sidecar alone.
    document: String,
    /// SHA-256 of the whole text the ranges were saved with.
    text_sha256: String,
    /// Who each `author` id is.
    authors: BTreeMap<String, String>,
    ranges: Vec<SidecarRange>,
}

#[derive(Serialize, Deserialize)]
struct SidecarRange {
    author: String,
    /// Unicode scalar offsets, `start < end`.
    start: usize,
    end: usize,
    /// SHA-256 of the characters `start..end`.
    sha256: String,
}

/// Where a document's authorship is kept: beside it, its name plus `.authorship.json`.
pub fn sidecar_path(doc: &Path) -> PathBuf {
    let mut name = doc.file_name().unwrap_or_default().to_owned();
    name.push(".authorship.json");
    doc.with_file_name(name)
}

/// Checks ranges the page sent: inside `text` (UTF-16 length), non-empty, sorted, apart.
pub fn validate(ranges: &[Authored], text: &str) -> CommandResult<()> {
    let bad = |what: String| Err(CommandError::new(ErrorCode::InvalidDocument, what));
    if ranges.len() > MAX_RANGES {
        return bad(format!("{} model-written ranges; the limit is {MAX_RANGES}.", ranges.len()));
    }
    let len = text.encode_utf16().count() as u32;
    let mut last = 0;
    for (i, r) in ranges.iter().enumerate() {
        if r.from >= r.to || r.to > len || (i > 0 && r.from < last) {
            return bad(format!(
                "model-written range {i} ({}..{}) is empty, overlaps or lies outside the text",
                r.from, r.to
            ));
        }
        last = r.to;
    }
    Ok(())
}

/// Writes the authorship of `text`, saved at `doc`; with no ranges, removes the sidecar.
pub fn write(doc: &Path, text: &str, ranges: &[Authored]) -> CommandResult<()> {
    validate(ranges, text)?;
    let path = sidecar_path(doc);
    if ranges.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(CommandError::new(ErrorCode::Io, format!("Could not remove {}: {e}.", path.display())))
            }
            _ => Ok(()),
        };
    }
    let chars = Chars::new(text);
    // An id per model, in the order they first appear: "m1", "m2", ...
    let mut authors: BTreeMap<String, String> = BTreeMap::new();
    let mut id_of = |by: &str| match authors.iter().find(|(_, who)| *who == by) {
        Some((id, _)) => id.clone(),
        None => {
            let id = format!("m{}", authors.len() + 1);
            authors.insert(id.clone(), by.to_owned());
            id
        }
    };
    let ranges = ranges
        .iter()
        .map(|r| {
            let (start, end) = (chars.char_at_utf16(r.from), chars.char_at_utf16(r.to));
            SidecarRange { author: id_of(&r.by), start, end, sha256: fingerprint(chars.slice(start, end).as_bytes()) }
        })
        .collect();
    let sidecar = Sidecar {
        format: FORMAT.into(),
        version: 1,
        document: doc.file_name().unwrap_or_default().to_string_lossy().into_owned(),
        text_sha256: fingerprint(text.as_bytes()),
        authors,
        ranges,
    };
    let json = serde_json::to_vec_pretty(&sidecar).expect("the sidecar serialises");
    write_atomic(&path, &json)
}

/// The model-written ranges of `text` (opened from `doc`) and how many stored ranges no
/// longer match it (dropped). No sidecar: none. An unreadable sidecar: none, all dropped.
pub fn read(doc: &Path, text: &str) -> (Vec<Authored>, usize) {
    let path = sidecar_path(doc);
    let Ok(meta) = std::fs::metadata(&path) else { return (Vec::new(), 0) };
    let parsed = (meta.len() <= MAX_SIDECAR_BYTES)
        .then(|| std::fs::read(&path).ok())
        .flatten()
        .and_then(|bytes| serde_json::from_slice::<Sidecar>(&bytes).ok())
        .filter(|s| s.format == FORMAT && s.version == 1 && s.ranges.len() <= MAX_RANGES);
    let Some(sidecar) = parsed else {
        tracing::warn!("{} is not an authorship file this version reads", path.display());
        return (Vec::new(), 1);
    };
    let chars = Chars::new(text);
    let mut kept: Vec<Authored> = Vec::new();
    for r in &sidecar.ranges {
        let fits =
            r.start < r.end && r.end <= chars.len() && kept.last().is_none_or(|k| chars.utf16_at(r.start) >= k.to);
        if fits && fingerprint(chars.slice(r.start, r.end).as_bytes()) == r.sha256 {
            let by = sidecar.authors.get(&r.author).cloned().unwrap_or_else(unrecorded);
            kept.push(Authored { from: chars.utf16_at(r.start), to: chars.utf16_at(r.end), by });
        }
    }
    let dropped = sidecar.ranges.len() - kept.len();
    (kept, dropped)
}

/// `text` followed by a Markdown Annotations block (iA's open format, version 0.1) naming the
/// ranges Dream wrote: what an export that keeps authorship writes, for other tools (iA Writer
/// among them) to read. Ranges count grapheme clusters, as that format asks; the hash covers
/// the whole text.
pub fn with_annotations(text: &str, ranges: &[Authored]) -> CommandResult<String> {
    use unicode_segmentation::UnicodeSegmentation;
    validate(ranges, text)?;
    let starts: Vec<usize> = text.grapheme_indices(true).map(|(byte, _)| byte).collect();
    let chars = Chars::new(text);
    // The grapheme cluster a UTF-16 offset falls in (or starts).
    let grapheme = |utf16: u32| starts.partition_point(|&b| b < chars.byte_at(chars.char_at_utf16(utf16)));
    let span = |r: &Authored| {
        let (start, end) = (grapheme(r.from), grapheme(r.to));
        if end - start == 1 {
            start.to_string()
        } else {
            format!("{start},{}", end - start)
        }
    };
    let mut out = String::with_capacity(text.len() + 128 + 12 * ranges.len());
    out.push_str(text);
    out.push_str(if text.ends_with('\n') { "\n" } else { "\n\n" });
    out.push_str(&format!("---\nAnnotations: 0,{} SHA-256 {}\n", starts.len(), fingerprint(text.as_bytes())));
    // One line per model, in the order they first wrote; the name on one line, without the
    // colon that ends it.
    let mut models: Vec<&str> = Vec::new();
    for r in ranges {
        if !models.contains(&r.by.as_str()) {
            models.push(&r.by);
        }
    }
    for by in models {
        let spans: Vec<String> = ranges.iter().filter(|r| r.by == by).map(span).collect();
        let name = by.replace(':', " -").replace(['\n', '\r'], " ");
        out.push_str(&format!("&{name}: {}\n", spans.join(" ")));
    }
    out.push_str("...\n");
    Ok(out)
}

/// A text's character boundaries, to move between char and UTF-16 offsets.
struct Chars<'a> {
    text: &'a str,
    /// For each char index (and the end): its byte offset and its UTF-16 offset.
    at: Vec<(usize, u32)>,
}

impl<'a> Chars<'a> {
    fn new(text: &'a str) -> Self {
        let mut at = Vec::with_capacity(text.len() + 1);
        let mut utf16 = 0u32;
        for (byte, c) in text.char_indices() {
            at.push((byte, utf16));
            utf16 += c.len_utf16() as u32;
        }
        at.push((text.len(), utf16));
        Chars { text, at }
    }

    fn len(&self) -> usize {
        self.at.len() - 1
    }

    fn utf16_at(&self, char: usize) -> u32 {
        self.at[char].1
    }

    /// The char at or after a UTF-16 offset (one inside a surrogate pair moves past it).
    fn char_at_utf16(&self, utf16: u32) -> usize {
        self.at.partition_point(|&(_, u)| u < utf16)
    }

    fn byte_at(&self, char: usize) -> usize {
        self.at[char].0
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        &self.text[self.at[start].0..self.at[end].0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = "Built-in demo (SmolLM2-135M-Instruct adapted to diffusion)";
    const DREAM: &str = "Dream-org/Dream-v0-Instruct-7B";

    fn range(from: u32, to: u32, by: &str) -> Authored {
        Authored { from, to, by: by.into() }
    }

    #[test]
    fn ranges_round_trip_beside_the_document_and_stale_ones_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let doc = dir.path().join("story.md");
        // "🌙 " is 3 UTF-16 units and 2 chars: the sidecar counts chars.
        let text = "🌙 The night was cold. Rain fell on the roofs.";
        let rain = text[..text.find("Rain").unwrap()].encode_utf16().count() as u32;
        let ranges = [range(3, 12, DEMO), range(rain, rain + 9, DREAM)];
        write(&doc, text, &ranges).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(sidecar_path(&doc)).unwrap()).unwrap();
        assert_eq!(json["format"], FORMAT);
        assert_eq!(json["ranges"][0]["start"], 2);
        assert_eq!(json["ranges"][0]["end"], 11);
        // Each range names the model that wrote it.
        assert_eq!(json["authors"], serde_json::json!({ "m1": DEMO, "m2": DREAM }));
        assert_eq!((&json["ranges"][0]["author"], &json["ranges"][1]["author"]), (&"m1".into(), &"m2".into()));
        assert_eq!(read(&doc, text), (ranges.to_vec(), 0));
        // Another program changed the first range's words: that range goes, the other stays.
        let edited = text.replace("The night", "One night");
        assert_eq!(read(&doc, &edited), (vec![ranges[1].clone()], 1));
        // Nothing model-written left: the sidecar goes too.
        write(&doc, text, &[]).unwrap();
        assert!(!sidecar_path(&doc).exists());
        assert_eq!(read(&doc, text), (Vec::new(), 0));
    }

    /// The export that keeps authorship: a Markdown Annotations block counting grapheme
    /// clusters (a flag emoji is one), with the whole text's SHA-256.
    #[test]
    fn an_export_appends_a_markdown_annotations_block() {
        let text = "🇫🇷 Paris. The rain fell.";
        let rain = text[..text.find("The").unwrap()].encode_utf16().count() as u32;
        let out =
            with_annotations(text, &[range(0, 4, DREAM), range(rain, rain + 13, "Built-in demo: SmolLM2")]).unwrap();
        let block = out.strip_prefix(text).unwrap();
        let hash = fingerprint(text.as_bytes());
        // The flag is 4 UTF-16 units, 2 chars and 1 grapheme: "The" starts at grapheme 9. A line
        // per model, its name without the colon that ends it.
        assert_eq!(
            block,
            format!("\n\n---\nAnnotations: 0,23 SHA-256 {hash}\n&{DREAM}: 0\n&Built-in demo - SmolLM2: 9,13\n...\n")
        );
        let plain = with_annotations("Mine.\n", &[]).unwrap();
        let hash = fingerprint(b"Mine.\n");
        assert_eq!(plain, format!("Mine.\n\n---\nAnnotations: 0,6 SHA-256 {hash}\n...\n"));
    }

    #[test]
    fn bad_ranges_and_bad_sidecars_are_refused_or_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let doc = dir.path().join("story.md");
        for bad in [[range(2, 2, DEMO)], [range(0, 99, DEMO)]] {
            let e = write(&doc, "short", &bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidDocument, "{}", e.message);
        }
        let overlapping = [range(0, 3, DEMO), range(2, 4, DEMO)];
        assert!(write(&doc, "short", &overlapping).is_err());
        std::fs::write(sidecar_path(&doc), b"{ not json").unwrap();
        assert_eq!(read(&doc, "short"), (Vec::new(), 1));
    }

    /// A sidecar an older version wrote (one author, "dream") reads with what it said then.
    #[test]
    fn an_older_sidecar_keeps_what_it_said_of_its_author() {
        let dir = tempfile::tempdir().unwrap();
        let doc = dir.path().join("story.md");
        let text = "The rain fell.";
        let old = serde_json::json!({
            "format": FORMAT, "version": 1, "document": "story.md", "text_sha256": fingerprint(text.as_bytes()),
            "authors": { "dream": "Dream 7B, a diffusion language model, in Dream Writer" },
            "ranges": [{ "author": "dream", "start": 4, "end": 8, "sha256": fingerprint(b"rain") }]
        });
        std::fs::write(sidecar_path(&doc), old.to_string()).unwrap();
        assert_eq!(read(&doc, text), (vec![range(4, 8, "Dream 7B, a diffusion language model, in Dream Writer")], 0));
        // An autosave of an older version has ranges without a model.
        let saved: Authored = serde_json::from_str(r#"{"from": 1, "to": 2}"#).unwrap();
        assert_eq!(saved.by, unrecorded());
    }
}
