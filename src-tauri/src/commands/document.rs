//! Opening, saving and autosaving documents.

use std::path::PathBuf;

use tauri::State;

use crate::documents::{self, Autosave, Document};
use crate::error::CommandResult;
use crate::state::AppState;

#[tauri::command]
pub fn open_document(path: PathBuf) -> CommandResult<Document> {
    documents::open(&path)
}

#[tauri::command]
pub fn save_document(path: PathBuf, text: String) -> CommandResult<()> {
    documents::save(&path, &text)
}

#[tauri::command]
pub fn autosave_document(state: State<'_, AppState>, document: Document) -> CommandResult<()> {
    documents::autosave(&state.data_dir, &document)
}

/// The document the writer had open last (from its autosave), to reopen at start.
#[tauri::command]
pub fn last_document(state: State<'_, AppState>) -> Option<Autosave> {
    documents::last(&state.data_dir)
}
