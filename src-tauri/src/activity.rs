//! What the app is doing with models, as one state: idle, downloading or loading a model,
//! writing, or making a smaller copy, with the model it holds. One thing at a time: a
//! transition is allowed only from `Idle` (and a download only goes on to its load), so a run
//! never starts while a model loads, a model never changes under a run, and two models are
//! never in memory at once (the old one is let go when the new one's weights start loading).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use dream_engine::{Dream, DreamTokenizer};
use serde::Serialize;

use crate::error::{CommandError, ErrorCode};

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
    /// Whether it follows instructions on marks: it has a chat template (an Instruct model;
    /// Base models have none).
    pub instructions: bool,
    /// What its steps cost, for the page's time estimate.
    pub step_flops: dream_engine::StepFlops,
    /// How the words it writes are credited (the authorship sidecar, an annotated export):
    /// what it is, and its weights' SHA-256 where the app knows it.
    pub author: String,
    /// What the page says beside its name while it is loaded (the demo's limits).
    pub note: Option<ModelNote>,
}

/// A line beside a model's name, and the whole of it on hover.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct ModelNote {
    pub summary: String,
    pub about: String,
}

/// What is running now, and how to stop it.
#[derive(Debug, Default)]
pub enum Activity {
    #[default]
    Idle,
    /// A model's files are being fetched; the loaded model stays until they are all here.
    Downloading { abort: Option<tokio::task::AbortHandle> },
    /// A model's weights are being read; the previous model was let go first.
    Loading { cancel: Arc<AtomicBool> },
    /// Dream is writing (one run, all its candidates).
    Writing { cancel: Arc<AtomicBool> },
    /// A smaller copy of a model is being written.
    Copying { cancel: Arc<AtomicBool> },
}

/// The kinds of work, to start one or to stop the one running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Load,
    Write,
    Copy,
}

impl Activity {
    fn work(&self) -> Option<Work> {
        match self {
            Activity::Idle => None,
            Activity::Downloading { .. } | Activity::Loading { .. } => Some(Work::Load),
            Activity::Writing { .. } => Some(Work::Write),
            Activity::Copying { .. } => Some(Work::Copy),
        }
    }
}

/// What a command that needs a model says when none is loaded.
pub fn no_model() -> CommandError {
    CommandError::new(
        ErrorCode::NoModel,
        "No model is loaded: open the model manager and load one (the demo needs no download).",
    )
}

/// Why `wanted` cannot start while `running` runs, in the writer's words.
fn refusal(running: Work, wanted: Work) -> CommandError {
    let message = match (running, wanted) {
        (Work::Write, Work::Write) => "Dream is already writing: stop it first.",
        (Work::Write, Work::Load) => "Dream is writing: stop it (Esc) before loading another model.",
        (Work::Write, Work::Copy) => "Dream is writing: make the copy once it is done, or stop it (Esc).",
        (Work::Load, Work::Load) => "A model is already loading.",
        (Work::Load, _) => "A model is loading: try again once it is ready (its progress is in the model dialog).",
        (Work::Copy, Work::Copy) => "A copy is already being made.",
        (Work::Copy, _) => "A smaller copy is being made: try again once it is done, or cancel it.",
    };
    CommandError::new(ErrorCode::Busy, message)
}

struct Inner {
    activity: Activity,
    /// Which start the activity belongs to (a finished one never ends a newer one).
    ticket: u64,
    model: Option<Arc<Loaded>>,
}

/// The app's one state for models: the activity and the loaded model, behind one lock.
pub struct Machine {
    inner: Mutex<Inner>,
    next: AtomicU64,
}

impl Default for Machine {
    fn default() -> Self {
        Machine {
            inner: Mutex::new(Inner { activity: Activity::Idle, ticket: 0, model: None }),
            next: AtomicU64::new(1),
        }
    }
}

impl Machine {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("activity lock")
    }

    /// What the page shows of the model loaded now.
    pub fn info(&self) -> Option<ModelInfo> {
        self.lock().model.as_ref().map(|m| m.info.clone())
    }

    /// The loaded model's tokenizer, to count tokens with: it holds none of the weights, so a
    /// count never keeps a model in memory that a load let go.
    pub fn tokenizer(&self) -> Option<Arc<DreamTokenizer>> {
        self.lock().model.as_ref().map(|m| m.dream.tokenizer.clone())
    }

    /// Whether a model is being downloaded or loaded.
    pub fn loading(&self) -> bool {
        self.lock().activity.work() == Some(Work::Load)
    }

    /// Starts a run with the loaded model: refused unless idle, and without a model. The model,
    /// its cancel flag, and a ticket that ends the run. The model is handed out only here, so
    /// no load (which waits for idle) can happen while anyone holds it.
    pub fn start_writing(&self) -> Result<(Ticket<'_>, Arc<AtomicBool>, Arc<Loaded>), CommandError> {
        let cancel = Arc::new(AtomicBool::new(false));
        let (ticket, model) = self.start_with(Work::Write, Activity::Writing { cancel: cancel.clone() }, true)?;
        Ok((ticket, cancel, model.expect("a run starts only with a model")))
    }

    /// Starts a smaller copy: refused unless idle.
    pub fn start_copying(&self) -> Result<(Ticket<'_>, Arc<AtomicBool>), CommandError> {
        let cancel = Arc::new(AtomicBool::new(false));
        let ticket = self.start(Work::Copy, Activity::Copying { cancel: cancel.clone() })?;
        Ok((ticket, cancel))
    }

    /// Starts getting a model: its download first (see [`Ticket::downloading`]), then its
    /// weights ([`Ticket::reading`]), then [`Ticket::loaded`]. Refused unless idle.
    pub fn start_loading(&self) -> Result<Ticket<'_>, CommandError> {
        self.start(Work::Load, Activity::Downloading { abort: None })
    }

    fn start(&self, work: Work, activity: Activity) -> Result<Ticket<'_>, CommandError> {
        Ok(self.start_with(work, activity, false)?.0)
    }

    /// Starts `activity` (refused unless idle), with the loaded model when `with_model` (refused
    /// when there is none), in one step under the lock.
    fn start_with(
        &self,
        work: Work,
        activity: Activity,
        with_model: bool,
    ) -> Result<(Ticket<'_>, Option<Arc<Loaded>>), CommandError> {
        let mut inner = self.lock();
        if let Some(running) = inner.activity.work() {
            return Err(refusal(running, work));
        }
        let model = match (with_model, &inner.model) {
            (false, _) => None,
            (true, Some(model)) => Some(model.clone()),
            (true, None) => return Err(no_model()),
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        inner.activity = activity;
        inner.ticket = id;
        Ok((Ticket { machine: self, id }, model))
    }

    /// Stops `work` if it is what runs now (before its next step, layer or file block);
    /// whether it was.
    pub fn cancel(&self, work: Work) -> bool {
        let mut inner = self.lock();
        if inner.activity.work() != Some(work) {
            return false;
        }
        match &mut inner.activity {
            Activity::Downloading { abort } => abort.take().map(|a| a.abort()).is_some(),
            Activity::Loading { cancel } | Activity::Writing { cancel } | Activity::Copying { cancel } => {
                cancel.store(true, Ordering::Relaxed);
                true
            }
            Activity::Idle => false,
        }
    }
}

/// One started activity; dropping it returns the app to idle, whatever the outcome.
pub struct Ticket<'a> {
    machine: &'a Machine,
    id: u64,
}

impl Ticket<'_> {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        let mut inner = self.machine.lock();
        assert_eq!(inner.ticket, self.id, "a ticket acts only on its own activity");
        f(&mut inner)
    }

    /// The download task in progress, so Cancel can abort it.
    pub fn downloading(&self, task: tokio::task::AbortHandle) {
        self.with(|inner| inner.activity = Activity::Downloading { abort: Some(task) });
    }

    /// The files are here: the old model is let go and the new one's weights are read. The
    /// flag stops the reading when Cancel sets it.
    pub fn reading(&self) -> Arc<AtomicBool> {
        let cancel = Arc::new(AtomicBool::new(false));
        self.with(|inner| {
            inner.model = None;
            inner.activity = Activity::Loading { cancel: cancel.clone() };
        });
        cancel
    }

    /// The new model is ready: it becomes the loaded one.
    pub fn loaded(self, model: Arc<Loaded>) {
        self.with(|inner| inner.model = Some(model));
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        let mut inner = self.machine.lock();
        if inner.ticket == self.id {
            inner.activity = Activity::Idle;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model loaded the way the app loads one (the engine's 1 MB test checkpoint).
    fn load(m: &Machine, name: &str) {
        let ticket = m.start_loading().unwrap();
        ticket.reading();
        ticket.loaded(model(name));
    }

    fn model(name: &str) -> Arc<Loaded> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/dream-tiny");
        let dream = Dream::load(&dir, &dream_engine::candle_core::Device::Cpu, None).unwrap();
        let info = ModelInfo {
            name: name.into(),
            source: name.into(),
            demo: false,
            device: "cpu".into(),
            dtype: dream_engine::Precision::F32,
            parameters: 0,
            context: 0,
            instructions: false,
            step_flops: dream.config.step_flops(),
            author: name.into(),
            note: None,
        };
        Arc::new(Loaded { dream, info })
    }

    #[test]
    fn one_activity_at_a_time_each_refusal_in_plain_words() {
        let m = Machine::default();
        assert_eq!(m.start_writing().err().unwrap().code, ErrorCode::NoModel, "no run without a model");
        load(&m, "tiny");
        let (writing, cancel, _) = m.start_writing().unwrap();
        for (refused, says) in [
            (m.start_writing().err(), "already writing"),
            (m.start_loading().err(), "before loading another model"),
            (m.start_copying().err(), "make the copy once it is done"),
        ] {
            let e = refused.unwrap();
            assert_eq!(e.code, ErrorCode::Busy);
            assert!(e.message.contains(says), "{}", e.message);
        }
        assert!(!m.cancel(Work::Load) && !m.cancel(Work::Copy), "only the running work is stopped");
        assert!(m.cancel(Work::Write) && cancel.load(Ordering::Relaxed));
        drop(writing);
        assert!(!m.cancel(Work::Write), "nothing left to stop");
        let (copying, _) = m.start_copying().unwrap();
        assert!(m.start_writing().err().unwrap().message.contains("copy is being made"));
        drop(copying);
        let loading = m.start_loading().unwrap();
        assert!(m.loading());
        assert!(m.start_writing().err().unwrap().message.starts_with("A model is loading"));
        assert!(m.start_copying().err().unwrap().message.starts_with("A model is loading"));
        drop(loading);
        assert!(!m.loading());
        m.start_writing().unwrap();
    }

    #[test]
    fn cancel_reaches_the_download_then_the_reading() {
        let m = Machine::default();
        let ticket = m.start_loading().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let task = runtime.spawn(std::future::pending::<()>());
        ticket.downloading(task.abort_handle());
        assert!(m.cancel(Work::Load));
        assert!(runtime.block_on(task).unwrap_err().is_cancelled(), "the download is aborted");
        let flag = ticket.reading();
        assert!(m.cancel(Work::Load));
        assert!(flag.load(Ordering::Relaxed), "the weights' reading is told to stop");
    }

    /// A new model's weights are read only once the old one is gone, and a download that
    /// fails or is cancelled keeps the old one. Counting tokens holds only the tokenizer, so
    /// a count in progress does not keep the old model either.
    #[test]
    fn two_models_are_never_held_at_once() {
        let m = Machine::default();
        load(&m, "first");
        assert_eq!(m.info().unwrap().name, "first");
        drop(m.start_loading().unwrap()); // a download that failed
        assert_eq!(m.info().unwrap().name, "first", "a failed download keeps the model");
        let second = m.start_loading().unwrap();
        let old = Arc::downgrade(m.lock().model.as_ref().unwrap());
        let counting = m.tokenizer().unwrap();
        second.reading();
        assert!(m.info().is_none() && old.upgrade().is_none(), "the old model is gone before the new one is read");
        assert!(counting.encode("w1 w2").is_ok(), "the count goes on with its tokenizer");
        second.loaded(model("second"));
        assert_eq!(m.info().unwrap().name, "second");
    }
}
