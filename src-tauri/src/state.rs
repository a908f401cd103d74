//! What the app holds between commands: the loaded model, the running generation, settings.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use dream_engine::Dream;
use serde::Serialize;

use crate::settings::Settings;

/// A loaded model and how it was loaded.
pub struct Loaded {
    pub dream: Dream,
    pub info: ModelInfo,
}

/// What the UI shows about the loaded model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelInfo {
    /// "Built-in demo", a folder, or a Hub repo id.
    pub name: String,
    pub demo: bool,
    pub device: String,
    pub dtype: String,
    pub parameters: usize,
    pub context: usize,
}

pub struct AppState {
    pub model: Mutex<Option<Arc<Loaded>>>,
    pub loading: AtomicBool,
    /// Stops the model download/load in progress.
    pub load_abort: Mutex<Option<tokio::task::AbortHandle>>,
    /// The cancel flag of the generation in progress, if any.
    pub job: Mutex<Option<Arc<AtomicBool>>>,
    /// Held by the generation in progress: a new one waits for a cancelled one to stop.
    pub run_lock: tokio::sync::Mutex<()>,
    pub settings: Mutex<Settings>,
    /// Where settings and autosaves live (the platform's app dirs).
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
}

impl AppState {
    pub fn new(config_dir: PathBuf, data_dir: PathBuf) -> Self {
        let settings = Settings::load(&config_dir);
        AppState {
            model: Mutex::new(None),
            loading: AtomicBool::new(false),
            load_abort: Mutex::new(None),
            job: Mutex::new(None),
            run_lock: tokio::sync::Mutex::new(()),
            settings: Mutex::new(settings),
            config_dir,
            data_dir,
        }
    }

    pub fn loaded(&self) -> Option<Arc<Loaded>> {
        self.model.lock().expect("model lock").clone()
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
