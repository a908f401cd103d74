//! Documents: New, Open (dialog or recent), Save, Save As, checks against the disk, autosave.
//! Every path comes from a dialog the writer answered or from the recent list: the page can
//! ask for a dialog, never name a file.

use std::path::{Path, PathBuf};

use serde::Serialize;
use tauri::{AppHandle, State};

use crate::authorship::{self, Authored};
use crate::blocking::off_main;
use crate::desk::{Desk, DocState, RecentEntry};
use crate::dialogs::Pick;
use crate::documents::{self, check_kind, fingerprint, DiskState, OnDisk};
use crate::error::CommandResult;
use crate::state::AppState;

/// A document as the editor opens it: the file (if it could be read) and its autosave (if
/// there is one), for the page to compare.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct Opened {
    /// `None` for the untitled buffer.
    pub path: Option<PathBuf>,
    pub file: Option<OnDisk>,
    pub autosave: Option<DocState>,
    /// Whether the autosave holds changes that were never saved (its text is not the version
    /// it started from).
    pub autosave_unsaved: bool,
    /// The ranges of the file's text the model wrote, from the authorship file beside it.
    pub authored: Vec<Authored>,
    /// Ranges in that file that no longer match the text (edited elsewhere): dropped.
    pub authored_dropped: usize,
}

impl Opened {
    fn new(path: Option<PathBuf>, file: Option<OnDisk>, autosave: Option<DocState>) -> Self {
        let autosave_unsaved =
            autosave.as_ref().is_some_and(|a| a.base.as_deref() != Some(&fingerprint(a.text.as_bytes())));
        let (authored, authored_dropped) = match (&path, &file) {
            (Some(p), Some(f)) => authorship::read(p, &f.text),
            _ => (Vec::new(), 0),
        };
        Opened { path, file, autosave, autosave_unsaved, authored, authored_dropped }
    }
}

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Serialize)]
pub struct Saved {
    pub path: PathBuf,
    pub base: String,
}

/// Runs document work (reads, and atomic writes with their fsyncs) on the blocking pool with
/// the desk: never on the main thread, which draws the window, and never under the model's
/// lock, so a save is not held up by a run or a load. The desk's lock keeps one document
/// operation at a time, in the order they came.
async fn with_desk<T: Send + 'static>(
    state: &AppState,
    what: &'static str,
    f: impl FnOnce(&mut Desk) -> CommandResult<T> + Send + 'static,
) -> CommandResult<T> {
    let desk = state.desk.clone();
    off_main(what, move || f(&mut desk.lock().expect("desk lock"))).await
}

fn opened(desk: &mut Desk, path: &Path) -> CommandResult<Opened> {
    let file = documents::read(path)?;
    desk.choose(path)?;
    Ok(Opened::new(Some(path.to_owned()), Some(file), desk.read_autosave(Some(path))))
}

/// What was open when the app last ran: the file as it is now (`None` if it is gone) and the
/// autosave, or the untitled buffer's autosave.
#[tauri::command]
pub async fn restore_session(state: State<'_, AppState>) -> CommandResult<Opened> {
    with_desk(&state, "Reopening the document", |desk| {
        let path = desk.current().map(Path::to_owned);
        let file = path.as_deref().and_then(|p| documents::read(p).ok());
        Ok(Opened::new(path.clone(), file, desk.read_autosave(path.as_deref())))
    })
    .await
}

/// What the writer must be told once: a settings file or an autosave that could not be used
/// (and was moved aside, not lost).
#[tauri::command]
pub async fn take_notices(state: State<'_, AppState>) -> CommandResult<Vec<String>> {
    let mut notices = std::mem::take(&mut *state.notices.lock().expect("notices lock"));
    notices.extend(state.desk.lock().expect("desk lock").take_notices());
    Ok(notices)
}

/// Starts a new untitled document (the page has asked about unsaved changes first).
#[tauri::command]
pub async fn new_document(state: State<'_, AppState>) -> CommandResult<()> {
    with_desk(&state, "Starting a new document", |desk| desk.new_untitled()).await
}

/// The Open dialog: the file the writer picks (`None` when they cancel), which the document
/// commands then accept. Nothing is read yet: the page first deals with unsaved changes.
#[tauri::command]
pub async fn choose_document(app: AppHandle, state: State<'_, AppState>) -> CommandResult<Option<PathBuf>> {
    let Some(path) = state.dialogs.ask(&app, Pick::OpenDocument, None).await else { return Ok(None) };
    check_kind(&path)?;
    state.desk.lock().expect("desk lock").allow(&path);
    Ok(Some(path))
}

/// Opens a document the writer chose (in the Open dialog, from Open Recent, or the one open
/// now, to reload it); it becomes the current document and the top of the recent list.
#[tauri::command]
pub async fn open_document(state: State<'_, AppState>, path: PathBuf) -> CommandResult<Opened> {
    with_desk(&state, "Opening the document", move |desk| {
        desk.require(&path)?;
        opened(desk, &path)
    })
    .await
}

/// Saves the document open now, and beside it which of its ranges the model wrote (`None`:
/// none, and any authorship file beside it goes). `base` is
/// the fingerprint it was loaded or last saved with; an outside change since is refused
/// (`changed_on_disk`) unless the writer chose to `overwrite`.
#[tauri::command]
pub async fn save_document(
    state: State<'_, AppState>,
    path: PathBuf,
    text: String,
    base: Option<String>,
    overwrite: bool,
    authored: Option<Vec<Authored>>,
) -> CommandResult<Saved> {
    with_desk(&state, "Saving the document", move |desk| {
        desk.require(&path)?;
        let authored = authored.unwrap_or_default();
        authorship::validate(&authored, &text)?;
        let base = documents::save(&path, &text, base.as_deref(), overwrite)?;
        authorship::write(&path, &text, &authored)?;
        Ok(Saved { path, base })
    })
    .await
}

/// Save As: writes `text` where the writer picks in the Save dialog, which then becomes the
/// document open now (`None` when they cancel). A name without an extension gets `.md`.
#[tauri::command]
pub async fn save_document_as(
    app: AppHandle,
    state: State<'_, AppState>,
    text: String,
    authored: Option<Vec<Authored>>,
) -> CommandResult<Option<Saved>> {
    documents::check_text_size(&text)?;
    let authored = authored.unwrap_or_default();
    authorship::validate(&authored, &text)?;
    let suggested = state.desk.lock().expect("desk lock").current().map(Path::to_owned);
    let Some(mut path) = state.dialogs.ask(&app, Pick::SaveDocument, suggested.as_deref()).await else {
        return Ok(None);
    };
    if path.extension().is_none() {
        path.set_extension("md");
    }
    check_kind(&path)?;
    with_desk(&state, "Saving the document", move |desk| {
        // The dialog asked before replacing an existing file.
        let base = documents::save(&path, &text, None, true)?;
        authorship::write(&path, &text, &authored)?;
        desk.choose(&path)?;
        Ok(Some(Saved { path, base }))
    })
    .await
}

/// Export: writes `text` where the writer picks in the Save dialog, with a Markdown
/// Annotations block naming Dream's words (`keep_authorship`) or as plain text. The document
/// open now stays what it is. `None` when they cancel.
#[tauri::command]
pub async fn export_document(
    app: AppHandle,
    state: State<'_, AppState>,
    text: String,
    authored: Vec<Authored>,
    keep_authorship: bool,
) -> CommandResult<Option<PathBuf>> {
    documents::check_text_size(&text)?;
    let out = if keep_authorship { authorship::with_annotations(&text, &authored)? } else { text };
    let Some(mut path) = state.dialogs.ask(&app, Pick::SaveDocument, None).await else { return Ok(None) };
    if path.extension().is_none() {
        path.set_extension("md");
    }
    check_kind(&path)?;
    with_desk(&state, "Exporting the document", move |desk| {
        if desk.current() == Some(path.as_path()) {
            return Err(crate::error::CommandError::new(
                crate::error::ErrorCode::InvalidPath,
                format!("{}: an export is a copy; choose another name than the document open now.", path.display()),
            ));
        }
        documents::save(&path, &out, None, true)?;
        Ok(Some(path))
    })
    .await
}

/// Whether the document's file still holds what the editor loaded or last saved.
#[tauri::command]
pub async fn check_document(state: State<'_, AppState>, path: PathBuf, base: String) -> CommandResult<DiskState> {
    with_desk(&state, "Checking the document", move |desk| {
        desk.require(&path)?;
        Ok(documents::disk_state(&path, &base))
    })
    .await
}

#[tauri::command]
pub async fn recent_documents(state: State<'_, AppState>) -> CommandResult<Vec<RecentEntry>> {
    Ok(state.desk.lock().expect("desk lock").recent())
}

#[tauri::command]
pub async fn autosave_document(state: State<'_, AppState>, document: DocState) -> CommandResult<()> {
    with_desk(&state, "Autosaving", move |desk| desk.autosave(&document)).await
}

/// Forgets the autosave of a document whose changes the writer chose not to save.
#[tauri::command]
pub async fn discard_autosave(state: State<'_, AppState>, path: Option<PathBuf>) -> CommandResult<()> {
    with_desk(&state, "Discarding the autosave", move |desk| {
        if let Some(p) = &path {
            desk.require(p)?;
        }
        desk.discard_autosave(path.as_deref());
        Ok(())
    })
    .await
}
