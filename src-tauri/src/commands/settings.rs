//! Reading and changing the writer's settings.

use tauri::State;

use crate::blocking::off_main;
use crate::error::CommandResult;
use crate::settings::Settings;
use crate::state::AppState;

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Settings {
    state.settings.lock().expect("settings lock").clone()
}

/// Checks and keeps the writer's settings: the file (written atomically, fsynced) off the main
/// thread, then the ones in memory, under one lock so two changes land in the order they came.
#[tauri::command]
pub async fn set_settings(state: State<'_, AppState>, settings: Settings) -> CommandResult<Settings> {
    settings.validate()?;
    let (dir, held) = (state.config_dir.clone(), state.settings.clone());
    off_main("Saving the settings", move || {
        let mut kept = held.lock().expect("settings lock");
        settings.save(&dir)?;
        *kept = settings.clone();
        Ok(settings)
    })
    .await
}
