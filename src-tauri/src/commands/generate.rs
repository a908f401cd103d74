//! Generation: `infill` streams every denoising step over a channel; `cancel` stops it.

use std::sync::atomic::Ordering;

use dream_engine::{InfillEvent, InfillRequest, Infilled};
use tauri::ipc::Channel;
use tauri::State;

use crate::blocking::off_main;
use crate::commands::model::no_model;
use crate::documents::check_text_size;
use crate::error::CommandResult;
use crate::state::AppState;

#[tauri::command]
pub async fn infill(
    state: State<'_, AppState>,
    request: InfillRequest,
    on_event: Channel<InfillEvent>,
) -> CommandResult<Infilled> {
    check_text_size(&request.text)?;
    let loaded = state.loaded().ok_or_else(no_model)?;
    let cancel = state.claim_job()?;
    let flag = cancel.clone();
    let events = on_event.clone();
    let result = off_main("Writing", move || {
        Ok(loaded.dream.infill(&request, &flag, &mut |step| {
            // Nobody left to watch (the window closed): stop before the next step.
            if events.send(InfillEvent::Step(step)).is_err() {
                flag.store(true, Ordering::Relaxed);
            }
        })?)
    })
    .await;
    state.release_job(&cancel);
    let done = result?;
    let _ = on_event.send(InfillEvent::Done(done.clone()));
    Ok(done)
}

/// Stops the running generation before its next step. Returns whether one was running.
#[tauri::command]
pub fn cancel(state: State<'_, AppState>) -> bool {
    state.cancel_job()
}
