//! Closing the window: the page is told first, so it can ask about unsaved changes.

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::{State, Window};

use std::sync::Mutex;

use crate::error::{CommandResult, ErrorCode};

/// What the backend tells the page about its window.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WindowNotice {
    /// The writer asked to close the window; it stays open until the page calls
    /// `close_window`.
    CloseRequested,
}

/// Where the page hears about close requests (managed state of its own: the window is not
/// the model's or the documents' business).
#[derive(Default)]
pub struct WindowWatch(Mutex<Option<Channel<WindowNotice>>>);

/// The page's channel for [`WindowNotice`]s. Until a page has one, the window closes at once.
#[tauri::command]
pub fn watch_window(watch: State<'_, WindowWatch>, on_event: Channel<WindowNotice>) {
    *watch.0.lock().expect("watch lock") = Some(on_event);
}

/// Closes the window for good (after the page has dealt with unsaved changes).
#[tauri::command]
pub fn close_window(window: Window) -> CommandResult<()> {
    window.destroy().map_err(|e| crate::error::CommandError::new(ErrorCode::Internal, e.to_string()))
}

/// Whether a close request was handed to the page (which then decides); `false` when no page
/// listens or it cannot be reached, and the window should simply close.
pub fn hand_close_to_page(watch: &WindowWatch) -> bool {
    let watch = watch.0.lock().expect("watch lock");
    watch.as_ref().is_some_and(|c| c.send(WindowNotice::CloseRequested).is_ok())
}
