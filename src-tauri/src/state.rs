//! What the app holds between commands: the model and what it is doing (`activity`),
//! settings, the desk of documents.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::activity::Machine;
use crate::desk::Desk;
use crate::dialogs::Dialogs;
use crate::settings::Settings;

pub struct AppState {
    /// What the app is doing with models, and the model it holds.
    pub machine: Machine,
    pub settings: Arc<Mutex<Settings>>,
    /// Things the writer must be told once (a settings file that could not be used).
    pub notices: Mutex<Vec<String>>,
    /// The documents the writer chose, the recent list, autosaves: its own lock, taken off the
    /// main thread while a document is read or written (see `commands::document`).
    pub desk: Arc<Mutex<Desk>>,
    pub dialogs: Dialogs,
    /// Where settings live (the platform's app config dir).
    pub config_dir: PathBuf,
    /// Where smaller copies of models are written (in the app's data folder).
    pub models_dir: PathBuf,
}

impl AppState {
    pub fn new(config_dir: PathBuf, data_dir: PathBuf) -> Self {
        let (settings, notice) = Settings::load(&config_dir);
        let models_dir = data_dir.join("models");
        // What a copy killed mid-write (the app force-quit, a power cut) left behind.
        for stale in dream_engine::checkpoint::quantize::remove_stale_parts(&models_dir) {
            tracing::info!("removed {}, left by a copy that was stopped", stale.display());
        }
        AppState {
            machine: Machine::default(),
            settings: Arc::new(Mutex::new(settings)),
            notices: Mutex::new(notice.into_iter().collect()),
            desk: Arc::new(Mutex::new(Desk::load(&data_dir))),
            dialogs: Dialogs::from_env(),
            config_dir,
            models_dir,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starting_removes_what_a_killed_copy_left_in_the_models_folder() {
        let dir = tempfile::tempdir().unwrap();
        let models = dir.path().join("data/models");
        std::fs::create_dir_all(&models).unwrap();
        let stale = models.join(".Dream-v0-Base-7B-q4_k.gguf.Xa81kq.part");
        std::fs::write(&stale, b"half a copy").unwrap();
        let copy = models.join("Dream-v0-Base-7B-q8_0.gguf");
        std::fs::write(&copy, b"a finished copy").unwrap();
        let state = AppState::new(dir.path().join("config"), dir.path().join("data"));
        assert!(!stale.exists(), "the killed copy's part file is removed at start");
        assert!(copy.exists(), "finished copies stay");
        assert_eq!(state.models_dir, models);
    }
}
