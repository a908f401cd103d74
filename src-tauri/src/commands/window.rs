//! Closing the window: the page is told first, so it can ask about unsaved changes.

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{State, Window};

use crate::error::{CommandResult, ErrorCode};
use crate::state::AppState;

/// What the backend tells the page about its window.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WindowNotice {
    /// The writer asked to close the window; it stays open until the page calls
    /// `close_window`.
    CloseRequested,
}

/// The page's channel for [`WindowNotice`]s. Until a page has one, the window closes at once.
#[tauri::command]
pub fn watch_window(state: State<'_, AppState>, on_event: Channel<WindowNotice>) {
    *state.window_watch.lock().expect("watch lock") = Some(on_event);
}

/// Closes the window for good (after the page has dealt with unsaved changes).
#[tauri::command]
pub fn close_window(window: Window) -> CommandResult<()> {
    window.destroy().map_err(|e| crate::error::CommandError::new(ErrorCode::Internal, e.to_string()))
}

/// Whether a close request was handed to the page (which then decides); `false` when no page
/// listens or it cannot be reached, and the window should simply close.
pub fn hand_close_to_page(state: &AppState) -> bool {
    let watch = state.window_watch.lock().expect("watch lock");
    watch.as_ref().is_some_and(|c| c.send(WindowNotice::CloseRequested).is_ok())
}
