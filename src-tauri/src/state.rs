//! What the app holds between commands: the loaded model, the running generation, settings.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use dream_engine::Dream;
use serde::Serialize;

use crate::desk::Desk;
use crate::dialogs::Dialogs;
use crate::error::{CommandError, ErrorCode};
use crate::settings::Settings;

/// A loaded model and how it was loaded.
pub struct Loaded {
    pub dream: Dream,
    pub info: ModelInfo,
}

/// What the UI shows about the loaded model.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// "Built-in demo", a folder, or a Hub repo id.
    pub name: String,
    /// What was loaded: "demo", a path or a repo id (what a smaller copy is made from).
    pub source: String,
    pub demo: bool,
    pub device: String,
    pub dtype: dream_engine::Precision,
    pub parameters: usize,
    pub context: usize,
}

/// The model being loaded: one at a time, and cancellable while it downloads and while its
/// weights are read.
#[derive(Default)]
pub struct Loading {
    active: AtomicBool,
    download: Mutex<Option<tokio::task::AbortHandle>>,
    reading: Mutex<Option<Arc<AtomicBool>>>,
}

impl Loading {
    /// Starts a load (`busy` while another runs); it ends when the guard is dropped.
    pub fn begin(&self) -> Result<LoadGuard<'_>, CommandError> {
        if self.active.swap(true, Ordering::SeqCst) {
            return Err(CommandError::new(ErrorCode::Busy, "A model is already loading."));
        }
        Ok(LoadGuard(self))
    }

    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::SeqCst)
    }

    /// The download task in progress (so Cancel can abort it), or none once it ended.
    pub fn set_download(&self, task: Option<tokio::task::AbortHandle>) {
        *self.download.lock().expect("download lock") = task;
    }

    /// A fresh flag that stops reading the weights when Cancel sets it.
    pub fn reading(&self) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(false));
        *self.reading.lock().expect("reading lock") = Some(flag.clone());
        flag
    }

    /// Stops the download or the reading in progress; whether there was one.
    pub fn cancel(&self) -> bool {
        let download = self.download.lock().expect("download lock").take().map(|h| h.abort()).is_some();
        let reading =
            self.reading.lock().expect("reading lock").as_ref().map(|f| f.store(true, Ordering::Relaxed)).is_some();
        download || reading
    }
}

/// Ends a load when dropped, whatever the outcome.
pub struct LoadGuard<'a>(&'a Loading);

impl Drop for LoadGuard<'_> {
    fn drop(&mut self) {
        self.0.set_download(None);
        self.0.reading.lock().expect("reading lock").take();
        self.0.active.store(false, Ordering::SeqCst);
    }
}

pub struct AppState {
    pub model: Mutex<Option<Arc<Loaded>>>,
    /// The model being loaded, if any.
    pub loading: Loading,
    /// The cancel flag of the generation in progress, if any.
    pub job: Mutex<Option<Arc<AtomicBool>>>,
    pub settings: Mutex<Settings>,
    /// Things the writer must be told once (a settings file that could not be used).
    pub notices: Mutex<Vec<String>>,
    /// The documents the writer chose, the recent list, autosaves.
    pub desk: Mutex<Desk>,
    pub dialogs: Dialogs,
    /// Where settings live (the platform's app config dir).
    pub config_dir: PathBuf,
    /// Where smaller copies of models are written (in the app's data folder).
    pub models_dir: PathBuf,
    /// Stops the smaller copy being made.
    pub copy_cancel: Mutex<Option<Arc<AtomicBool>>>,
}

impl AppState {
    pub fn new(config_dir: PathBuf, data_dir: PathBuf) -> Self {
        let (settings, notice) = Settings::load(&config_dir);
        let models_dir = data_dir.join("models");
        // What a copy killed mid-write (the app force-quit, a power cut) left behind.
        for stale in dream_engine::quantize::remove_stale_parts(&models_dir) {
            tracing::info!("removed {}, left by a copy that was stopped", stale.display());
        }
        AppState {
            model: Mutex::new(None),
            loading: Loading::default(),
            job: Mutex::new(None),
            settings: Mutex::new(settings),
            notices: Mutex::new(notice.into_iter().collect()),
            desk: Mutex::new(Desk::load(&data_dir)),
            dialogs: Dialogs::from_env(),
            config_dir,
            models_dir,
            copy_cancel: Mutex::new(None),
        }
    }

    pub fn loaded(&self) -> Option<Arc<Loaded>> {
        self.model.lock().expect("model lock").clone()
    }

    /// Registers a new generation and returns its cancel flag; one while another runs, or
    /// while a model loads (it would run on the model being replaced), is refused (`busy`).
    pub fn claim_job(&self) -> Result<Arc<AtomicBool>, CommandError> {
        let mut job = self.job.lock().expect("job lock");
        if job.is_some() {
            return Err(CommandError::new(ErrorCode::Busy, "Dream is already writing: stop it first."));
        }
        // Checked under the job lock, and a load checks for a job after it began (see
        // `begin_load`): one of the two always sees the other.
        if self.loading.is_active() {
            return Err(CommandError::new(
                ErrorCode::Busy,
                "A model is loading: Write again once it is ready (its progress is in the model dialog).",
            ));
        }
        let flag = Arc::new(AtomicBool::new(false));
        *job = Some(flag.clone());
        Ok(flag)
    }

    /// Forgets a finished generation (unless a newer one has taken its place).
    pub fn release_job(&self, flag: &Arc<AtomicBool>) {
        let mut job = self.job.lock().expect("job lock");
        if job.as_ref().is_some_and(|j| Arc::ptr_eq(j, flag)) {
            *job = None;
        }
    }

    /// Starts loading a model: refused during a generation (it would keep running on the old
    /// model while the app names the new one), and no generation starts until it ends.
    pub fn begin_load(&self) -> Result<LoadGuard<'_>, CommandError> {
        let guard = self.loading.begin()?;
        if self.job.lock().expect("job lock").is_some() {
            return Err(CommandError::new(
                ErrorCode::Busy,
                "Dream is writing: stop it (Esc) before loading another model.",
            ));
        }
        Ok(guard)
    }

    /// Asks the running generation, if any, to stop before its next step.
    pub fn cancel_job(&self) -> bool {
        match self.job.lock().expect("job lock").as_ref() {
            Some(flag) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Write while another model loaded ran on the old model: no generation starts until the
    /// load ends.
    #[test]
    fn no_generation_starts_while_a_model_loads() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::new(dir.path().join("config"), dir.path().join("data"));
        let loading = state.begin_load().unwrap();
        let refused = state.claim_job().unwrap_err();
        assert_eq!(refused.code, ErrorCode::Busy);
        assert!(refused.message.starts_with("A model is loading"), "{}", refused.message);
        drop(loading);
        assert!(state.claim_job().is_ok());
    }

    #[test]
    fn a_second_generation_is_refused_and_cancel_reaches_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::new(dir.path().join("config"), dir.path().join("data"));
        let first = state.claim_job().unwrap();
        assert_eq!(state.claim_job().unwrap_err().code, ErrorCode::Busy);
        assert!(!first.load(Ordering::Relaxed));
        assert!(state.cancel_job());
        assert!(first.load(Ordering::Relaxed), "the running one is asked to stop");
        state.release_job(&first);
        assert!(!state.cancel_job());
        assert!(state.claim_job().is_ok());
    }

    #[test]
    fn no_other_model_loads_while_dream_writes() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::new(dir.path().join("config"), dir.path().join("data"));
        drop(state.begin_load().unwrap());
        let job = state.claim_job().unwrap();
        let e = state.begin_load().err().unwrap();
        assert_eq!(e.code, ErrorCode::Busy);
        assert!(e.message.contains("stop it"), "{}", e.message);
        assert!(!state.loading.is_active(), "a refused load leaves nothing marked as loading");
        state.release_job(&job);
        drop(state.begin_load().unwrap());
    }

    #[test]
    fn one_load_at_a_time_and_cancel_reaches_its_reading() {
        let loading = Loading::default();
        let guard = loading.begin().unwrap();
        assert!(loading.is_active());
        assert_eq!(loading.begin().err().unwrap().code, ErrorCode::Busy);
        let flag = loading.reading();
        assert!(loading.cancel());
        assert!(flag.load(Ordering::Relaxed), "the weights' reading is told to stop");
        drop(guard);
        assert!(!loading.is_active());
        assert!(!loading.cancel(), "nothing left to cancel");
        loading.begin().unwrap();
    }

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
