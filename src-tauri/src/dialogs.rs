//! The platform's file dialogs, shown by the backend: the page never names a file, it asks
//! for a dialog and gets back what the writer picked.
//!
//! Tests cannot click a native dialog, so when `DREAM_WRITER_TEST_DIALOGS` names a file at
//! start, each dialog instead takes the first answer from the JSON array in that file (a
//! path, or `null` for Cancel). The page cannot reach that file or the environment.

use std::path::{Path, PathBuf};

use tauri::{AppHandle, Runtime};
use tauri_plugin_dialog::DialogExt;

/// What a dialog is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    OpenDocument,
    /// Save As, suggesting a file name.
    SaveDocument,
    ModelFolder,
    ModelFile,
}

pub enum Dialogs {
    Native,
    Scripted(PathBuf),
}

impl Dialogs {
    pub fn from_env() -> Self {
        match std::env::var_os("DREAM_WRITER_TEST_DIALOGS").filter(|v| !v.is_empty()) {
            Some(file) => Dialogs::Scripted(file.into()),
            None => Dialogs::Native,
        }
    }

    /// Shows the dialog for `pick` and waits for the writer (off the main thread).
    pub async fn ask<R: Runtime>(&self, app: &AppHandle<R>, pick: Pick, suggested: Option<&Path>) -> Option<PathBuf> {
        match self {
            Dialogs::Scripted(file) => next_answer(file),
            Dialogs::Native => {
                let mut dialog = app.dialog().file();
                dialog = match pick {
                    Pick::OpenDocument | Pick::SaveDocument => {
                        dialog.add_filter("Text documents", &["md", "markdown", "txt"])
                    }
                    Pick::ModelFile => dialog.add_filter("Quantized Dream model", &["gguf"]),
                    Pick::ModelFolder => dialog,
                };
                if let Some(s) = suggested {
                    if let Some(dir) = s.parent() {
                        dialog = dialog.set_directory(dir);
                    }
                    if let Some(name) = s.file_name() {
                        dialog = dialog.set_file_name(name.to_string_lossy());
                    }
                }
                let picked = tauri::async_runtime::spawn_blocking(move || match pick {
                    Pick::OpenDocument | Pick::ModelFile => dialog.blocking_pick_file(),
                    Pick::SaveDocument => dialog.blocking_save_file(),
                    Pick::ModelFolder => dialog.blocking_pick_folder(),
                })
                .await
                .ok()
                .flatten()?;
                picked.into_path().ok()
            }
        }
    }
}

/// Takes the first scripted answer; a missing or empty script is Cancel.
fn next_answer(file: &Path) -> Option<PathBuf> {
    let mut answers: Vec<Option<PathBuf>> =
        std::fs::read(file).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    if answers.is_empty() {
        tracing::warn!("no scripted dialog answer left in {}", file.display());
        return None;
    }
    let answer = answers.remove(0);
    let rest = serde_json::to_vec(&answers).unwrap_or_default();
    if let Err(e) = std::fs::write(file, rest) {
        tracing::warn!("could not update {}: {e}", file.display());
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripted_answers_are_taken_in_order_then_cancel() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("answers.json");
        std::fs::write(&file, r#"["/home/w/a.md", null]"#).unwrap();
        assert_eq!(next_answer(&file), Some(PathBuf::from("/home/w/a.md")));
        assert_eq!(next_answer(&file), None);
        assert_eq!(next_answer(&file), None);
        assert_eq!(next_answer(&dir.path().join("none.json")), None);
    }
}
