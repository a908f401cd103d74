//! Reading and changing the writer's settings.

use tauri::State;

use crate::error::CommandResult;
use crate::settings::Settings;
use crate::state::AppState;

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Settings {
    state.settings.lock().expect("settings lock").clone()
}

#[tauri::command]
pub fn set_settings(state: State<'_, AppState>, settings: Settings) -> CommandResult<Settings> {
    settings.validate()?;
    settings.save(&state.config_dir)?;
    *state.settings.lock().expect("settings lock") = settings.clone();
    Ok(settings)
}
