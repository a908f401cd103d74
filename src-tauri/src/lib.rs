//! Dream Writer: the desktop app, a thin Tauri layer over `dream-engine`.

mod activity;
mod authorship;
#[cfg(test)]
mod bindings;
mod blocking;
mod commands;
mod desk;
mod dialogs;
mod documents;
mod error;
mod files;
mod settings;
mod shared;
mod spelling;
mod state;

use std::path::PathBuf;

use state::AppState;
use tauri::Manager;

/// The app's config and data folders: the platform's app dirs, or `$DREAM_WRITER_HOME/{config,
/// data}` when set (tests and portable installs).
fn app_dirs() -> (PathBuf, PathBuf) {
    if let Some(home) = std::env::var_os("DREAM_WRITER_HOME").filter(|h| !h.is_empty()) {
        let home = PathBuf::from(home);
        return (home.join("config"), home.join("data"));
    }
    match directories::ProjectDirs::from("org", "dreamwriter", shared::SHARED.app_name) {
        Some(dirs) => (dirs.config_dir().to_owned(), dirs.data_dir().to_owned()),
        None => (std::env::temp_dir().join("dream-writer/config"), std::env::temp_dir().join("dream-writer/data")),
    }
}

/// Starts the app.
pub fn run() {
    dream_engine::cpu::allocator::reuse_freed_memory();
    tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_default_env()).init();
    let (config_dir, data_dir) = app_dirs();
    tauri::Builder::default()
        .plugin(tauri_plugin_dialog::init())
        .manage(AppState::new(config_dir, data_dir))
        .manage(commands::window::WindowWatch::default())
        .setup(|app| {
            // The window is built here (not from the config alone) so that the page's title,
            // with its unsaved marker, becomes the window's title.
            let config = app.config().app.windows.first().cloned().ok_or("no window in tauri.conf.json")?;
            let window = tauri::WebviewWindowBuilder::from_config(app.handle(), &config)?
                .on_document_title_changed(|window, title| {
                    let _ = window.set_title(&title);
                })
                .build()?;
            spelling::turn_on(&window);
            Ok(())
        })
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                // The page asks about unsaved changes, then closes the window itself.
                if commands::window::hand_close_to_page(&window.state::<commands::window::WindowWatch>()) {
                    api.prevent_close();
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::model::model_status,
            commands::model::list_models,
            commands::model::system_info,
            commands::fit::estimate_fit,
            commands::model::load_model,
            commands::model::cancel_load,
            commands::model::pick_model,
            commands::model::verify_model,
            commands::copies::make_smaller_copy,
            commands::copies::cancel_copy,
            commands::model::count_tokens,
            commands::generate::infill,
            commands::generate::cancel,
            commands::settings::get_settings,
            commands::settings::set_settings,
            commands::document::restore_session,
            commands::document::take_notices,
            commands::document::new_document,
            commands::document::choose_document,
            commands::document::open_document,
            commands::document::save_document,
            commands::document::save_document_as,
            commands::document::export_document,
            commands::document::check_document,
            commands::document::recent_documents,
            commands::document::autosave_document,
            commands::document::discard_autosave,
            commands::window::watch_window,
            commands::window::close_window,
        ])
        .run(tauri::generate_context!("../tauri.conf.json"))
        .expect("error while running Dream Writer");
}
