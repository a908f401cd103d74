//! Generation: `infill` streams every denoising step over a channel; `cancel` stops it.

use std::sync::atomic::Ordering;

use dream_engine::request::{FilledSpan, SpanView};
use dream_engine::{InfillRequest, InfillResult, InfillStep, StepCost};
use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;

use crate::activity::Work;
use crate::blocking::off_main;
use crate::documents::check_text_size;
use crate::error::CommandResult;
use crate::state::AppState;

/// What the editor draws after each step: the step and each span's slots (not the whole token
/// state, which it never reads). The result comes once, as the command's answer.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct StepUpdate {
    /// The step, counted across all windows, of `steps`.
    pub step: usize,
    pub steps: usize,
    /// Which window of context is being filled (0-based), of `windows`: marks too far apart
    /// for one are filled one window after another.
    pub window: usize,
    pub windows: usize,
    pub spans: Vec<SpanView>,
    /// What the step computed: with its time, how the page learns this device's speed.
    pub cost: StepCost,
}

/// What the page reads of a finished run: each candidate's edits, and what the engine adjusted.
/// (Not the whole written text, up to 16 MiB a candidate, nor the final token window the CLI
/// reports: the page writes the edits into its own document.)
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub candidates: Vec<Edits>,
    pub warnings: Vec<String>,
}

/// One candidate: each span's fill as the engine joined it to the text around it.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
pub struct Edits {
    pub spans: Vec<FilledSpan>,
}

impl From<InfillResult> for Edits {
    fn from(r: InfillResult) -> Self {
        Edits { spans: r.spans }
    }
}

impl From<InfillStep> for StepUpdate {
    fn from(e: InfillStep) -> Self {
        let t = e.tokens;
        StepUpdate { step: t.step, steps: t.steps, window: e.window, windows: e.windows, spans: e.spans, cost: t.cost }
    }
}

#[tauri::command]
pub async fn infill(
    state: State<'_, AppState>,
    request: InfillRequest,
    on_event: Channel<StepUpdate>,
) -> CommandResult<Written> {
    check_text_size(&request.text)?;
    let (_writing, flag, loaded) = state.machine.start_writing()?;
    off_main("Writing", move || {
        let done = loaded.dream.infill(&request, &flag, &mut |step| {
            // Nobody left to watch (the window closed): stop before the next step.
            if on_event.send(StepUpdate::from(step)).is_err() {
                flag.store(true, Ordering::Relaxed);
            }
        })?;
        Ok(Written { candidates: done.candidates.into_iter().map(Edits::from).collect(), warnings: done.warnings })
    })
    .await
}

/// Stops the running generation before its next step. Returns whether one was running.
#[tauri::command]
pub fn cancel(state: State<'_, AppState>) -> bool {
    state.machine.cancel(Work::Write)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_update_carries_what_the_editor_reads() {
        let tokens = dream_engine::StepEvent {
            step: 2,
            steps: 8,
            ids: vec![vec![1; 2048]],
            revealed: Vec::new(),
            full_pass: true,
            cost: StepCost { rows: 2048, keys: 2048, logits: 16 },
        };
        let event = InfillStep { tokens, window: 1, windows: 2, spans: Vec::new() };
        let json = serde_json::to_value(StepUpdate::from(event)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "step": 2, "steps": 8, "window": 1, "windows": 2, "spans": [],
                "cost": { "rows": 2048, "keys": 2048, "logits": 16 }
            })
        );
    }
}
