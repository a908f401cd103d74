//! Dream Writer: the desktop app, a thin Tauri layer over `dream-engine`.

mod commands;
mod error;

/// Starts the app.
pub fn run() {
    tauri::Builder::default()
        .invoke_handler(tauri::generate_handler![commands::engine_info])
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("error while running Dream Writer");
}
