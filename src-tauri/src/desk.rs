//! The writer's desk: which document files the writer chose (the only ones the document
//! commands touch), the recent list, the document open now, and one autosave per document.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::authorship::{self, Authored};
use crate::documents::{check_text_size, fingerprint};
use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::files::{io_error, set_aside, write_atomic};
use crate::shared::SHARED;

/// Entries in Open Recent.
pub const MAX_RECENT: usize = 10;
/// Bounds on what an autosave carries besides the text.
const MAX_MARKS: usize = 1000;

/// What is kept of the desk between runs (`desk.json` in the app's data folder).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    recent: Vec<PathBuf>,
    /// The document open when the app last ran; `None` for the untitled buffer.
    current: Option<PathBuf>,
}

/// A mark as the editor had it (UTF-16 offsets into the autosaved text).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedMark {
    pub from: u32,
    pub to: u32,
    pub tokens: u32,
    /// What the writer asked Dream to write there (see `dream_engine::Span::instruction`).
    #[serde(default)]
    pub instruction: Option<String>,
}

/// The editor's state of one document: its text, marks, pinned ending and gap.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocState {
    /// `None` for the untitled buffer.
    pub path: Option<PathBuf>,
    pub text: String,
    /// Fingerprint of the file version this text started from (`None` when never saved).
    pub base: Option<String>,
    #[serde(default)]
    pub marks: Vec<SavedMark>,
    #[serde(default)]
    pub ending: String,
    /// Where the ending is pinned (UTF-16 offset); `None` when it is only typed.
    #[serde(default)]
    pub ending_at: Option<u32>,
    #[serde(default = "default_gap")]
    pub gap: u32,
    /// The ranges the model wrote (UTF-16 offsets).
    #[serde(default)]
    pub authored: Vec<Authored>,
}

fn default_gap() -> u32 {
    SHARED.default_gap
}

impl DocState {
    pub fn validate(&self) -> CommandResult<()> {
        check_text_size(&self.text)?;
        let bad = |what: String| Err(CommandError::new(ErrorCode::InvalidDocument, what));
        if self.marks.len() > MAX_MARKS {
            return bad(format!("{} marks; at most {MAX_MARKS} are kept.", self.marks.len()));
        }
        if self.ending.len() > SHARED.max_ending_bytes {
            let (have, limit) = (self.ending.len(), SHARED.max_ending_bytes);
            return bad(format!("The pinned ending is {have} bytes; the limit is {limit}."));
        }
        if !(1..=SHARED.max_mark_tokens).contains(&self.gap) {
            return bad(format!("A gap of {} tokens: choose 1 to {}.", self.gap, SHARED.max_mark_tokens));
        }
        if self.marks.iter().any(|m| m.from > m.to) {
            return bad("A mark ends before it starts.".into());
        }
        authorship::validate(&self.authored, &self.text)
    }
}

/// One line of Open Recent.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecentEntry {
    pub path: PathBuf,
    pub name: String,
    /// False when the file was moved or deleted since.
    pub exists: bool,
}

pub struct Desk {
    dir: PathBuf,
    /// Every path the writer chose: in a dialog this run, or earlier (the recent list).
    chosen: HashSet<PathBuf>,
    saved: Saved,
    notices: Vec<String>,
}

impl Desk {
    /// The desk kept in `data_dir` (empty when there is none or it cannot be read).
    pub fn load(data_dir: &Path) -> Self {
        let saved: Saved = std::fs::read(data_dir.join("desk.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let mut desk =
            Desk { dir: data_dir.to_owned(), chosen: HashSet::new(), saved: Saved::default(), notices: Vec::new() };
        let recent: Vec<PathBuf> = saved.recent.into_iter().filter(|p| p.is_absolute()).take(MAX_RECENT).collect();
        for p in recent.into_iter().rev() {
            desk.remember(p);
        }
        desk.saved.current = saved.current.filter(|c| desk.chosen.contains(c));
        desk
    }

    fn remember(&mut self, path: PathBuf) {
        self.saved.recent.retain(|p| p != &path);
        self.saved.recent.insert(0, path.clone());
        self.saved.recent.truncate(MAX_RECENT);
        self.chosen.insert(path);
    }

    fn persist(&self) -> CommandResult<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io_error(&self.dir, "create", &e))?;
        let json = serde_json::to_vec_pretty(&self.saved)
            .map_err(|e| CommandError::new(ErrorCode::Internal, e.to_string()))?;
        write_atomic(&self.dir.join("desk.json"), &json)
    }

    /// Records that the writer chose `path` (in a dialog, or by opening it): it becomes the
    /// current document and the top of the recent list.
    pub fn choose(&mut self, path: &Path) -> CommandResult<()> {
        self.remember(path.to_owned());
        self.saved.current = Some(path.to_owned());
        self.persist()
    }

    /// The untitled buffer becomes current; its old autosave goes.
    pub fn new_untitled(&mut self) -> CommandResult<()> {
        self.saved.current = None;
        self.discard_autosave(None);
        self.persist()
    }

    /// Records a path the writer picked in a dialog, before it is opened.
    pub fn allow(&mut self, path: &Path) {
        self.chosen.insert(path.to_owned());
    }

    /// Refuses any path the writer did not choose: the page cannot name files.
    pub fn require(&self, path: &Path) -> CommandResult<()> {
        if self.chosen.contains(path) {
            Ok(())
        } else {
            Err(CommandError::new(
                ErrorCode::NotChosen,
                format!("{} was not chosen by you in a dialog or from Open Recent.", path.display()),
            ))
        }
    }

    pub fn current(&self) -> Option<&Path> {
        self.saved.current.as_deref()
    }

    pub fn recent(&self) -> Vec<RecentEntry> {
        self.saved
            .recent
            .iter()
            .map(|p| RecentEntry {
                path: p.clone(),
                name: p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                exists: p.is_file(),
            })
            .collect()
    }

    /// Each document's autosave has a file of its own, so one document's never replaces
    /// another's.
    fn autosave_path(&self, path: Option<&Path>) -> PathBuf {
        let name = match path {
            Some(p) => format!("{}.json", &fingerprint(p.as_os_str().as_encoded_bytes())[..32]),
            None => "untitled.json".into(),
        };
        self.dir.join("autosaves").join(name)
    }

    pub fn autosave(&self, state: &DocState) -> CommandResult<()> {
        state.validate()?;
        if let Some(p) = &state.path {
            self.require(p)?;
        }
        let path = self.autosave_path(state.path.as_deref());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io_error(dir, "create", &e))?;
        }
        let json = serde_json::to_vec(state).map_err(|e| CommandError::new(ErrorCode::Internal, e.to_string()))?;
        write_atomic(&path, &json)
    }

    /// The autosave of `path` (or of the untitled buffer). One that cannot be used is moved
    /// aside, never dropped, and the writer is told (see [`Desk::take_notices`]).
    pub fn read_autosave(&mut self, path: Option<&Path>) -> Option<DocState> {
        let file = self.autosave_path(path);
        let bytes = std::fs::read(&file).ok()?;
        let why = match serde_json::from_slice::<DocState>(&bytes) {
            Ok(state) if state.path.as_deref() != path => "it belongs to another document".to_string(),
            Ok(state) => match state.validate() {
                Ok(()) => return Some(state),
                Err(e) => e.message,
            },
            Err(e) => format!("damaged: {e}"),
        };
        let name = path.map_or("the untitled document".into(), |p| p.display().to_string());
        self.notices.push(format!("The autosave of {name}: {}", set_aside(&file, &why)));
        None
    }

    /// What the writer must be told about the desk's files, once.
    pub fn take_notices(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notices)
    }

    pub fn discard_autosave(&self, path: Option<&Path>) {
        let _ = std::fs::remove_file(self.autosave_path(path));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(path: Option<&Path>, text: &str) -> DocState {
        DocState {
            path: path.map(Path::to_owned),
            text: text.into(),
            base: None,
            marks: vec![SavedMark { from: 0, to: 2, tokens: 3, instruction: Some("darker".into()) }],
            ending: "The end.".into(),
            ending_at: Some(2),
            gap: 20,
            authored: vec![Authored { from: 0, to: 1, by: "Built-in demo".into() }],
        }
    }

    #[test]
    fn only_chosen_paths_and_they_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut desk = Desk::load(dir.path());
        let story = dir.path().join("story.md");
        let e = desk.require(&story).unwrap_err();
        assert_eq!(e.code, ErrorCode::NotChosen);
        assert_eq!(desk.autosave(&state(Some(&story), "x")).unwrap_err().code, ErrorCode::NotChosen);
        desk.choose(&story).unwrap();
        desk.require(&story).unwrap();
        assert_eq!(desk.current(), Some(story.as_path()));

        let desk = Desk::load(dir.path());
        desk.require(&story).unwrap();
        assert_eq!(desk.current(), Some(story.as_path()), "the current document is remembered on open");
        assert_eq!(desk.recent(), [RecentEntry { path: story.clone(), name: "story.md".into(), exists: false }]);
    }

    #[test]
    fn recent_keeps_the_last_ten_newest_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut desk = Desk::load(dir.path());
        let paths: Vec<PathBuf> = (0..12).map(|i| dir.path().join(format!("d{i}.md"))).collect();
        for p in &paths {
            desk.choose(p).unwrap();
        }
        desk.choose(&paths[5]).unwrap();
        let names: Vec<String> = Desk::load(dir.path()).recent().into_iter().map(|r| r.name).collect();
        assert_eq!(names, ["d5.md", "d11.md", "d10.md", "d9.md", "d8.md", "d7.md", "d6.md", "d4.md", "d3.md", "d2.md"]);
        let desk = Desk::load(dir.path());
        assert_eq!(
            desk.require(&paths[0]).unwrap_err().code,
            ErrorCode::NotChosen,
            "dropped from the list, no longer open to the page"
        );
    }

    #[test]
    fn one_autosave_per_document() {
        let dir = tempfile::tempdir().unwrap();
        let mut desk = Desk::load(dir.path());
        let a = dir.path().join("a.md");
        let b = dir.path().join("b.md");
        desk.choose(&a).unwrap();
        desk.choose(&b).unwrap();
        desk.autosave(&state(Some(&a), "words of a")).unwrap();
        desk.autosave(&state(Some(&b), "words of b")).unwrap();
        desk.autosave(&state(None, "untitled words")).unwrap();
        assert_eq!(desk.read_autosave(Some(&a)).unwrap(), state(Some(&a), "words of a"));
        assert_eq!(desk.read_autosave(Some(&b)).unwrap().text, "words of b");
        assert_eq!(desk.read_autosave(None).unwrap().text, "untitled words");
        desk.new_untitled().unwrap();
        assert_eq!(desk.read_autosave(None), None, "New starts a fresh untitled buffer");
        assert_eq!(desk.read_autosave(Some(&a)).unwrap().text, "words of a");
        let mut bad = state(None, "x");
        bad.gap = 0;
        assert_eq!(desk.autosave(&bad).unwrap_err().code, ErrorCode::InvalidDocument);
    }

    #[test]
    fn a_damaged_autosave_is_kept_aside_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let mut desk = Desk::load(dir.path());
        desk.autosave(&state(None, "precious unsaved words")).unwrap();
        let file = dir.path().join("autosaves/untitled.json");
        let mut bytes = std::fs::read(&file).unwrap();
        bytes.truncate(bytes.len() - 5);
        std::fs::write(&file, &bytes).unwrap();
        assert_eq!(desk.read_autosave(None), None);
        let notices = desk.take_notices();
        assert!(notices.len() == 1 && notices[0].contains("The autosave of the untitled document"), "{notices:?}");
        assert!(desk.take_notices().is_empty(), "said once");
        let kept = std::fs::read_dir(dir.path().join("autosaves")).unwrap().next().unwrap().unwrap().path();
        assert!(kept.to_string_lossy().contains("untitled.json.unreadable-"));
        assert_eq!(std::fs::read(kept).unwrap(), bytes, "the words are still on disk");
    }
}
