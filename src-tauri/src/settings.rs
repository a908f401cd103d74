//! The writer's settings, kept as JSON in the platform's config dir.

use std::path::{Path, PathBuf};

use dream_engine::{DeviceChoice, Precision, SamplingSettings};
use serde::{Deserialize, Serialize};

use crate::error::{CommandError, CommandResult, ErrorCode};
use crate::files::{io_error, set_aside, write_atomic};
use crate::shared::SHARED;

/// The page's colours; `System` follows the desktop.
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

/// How a run's steps read the document. Exact runs the whole text through the model every
/// step; fast only the marks between full passes (see `SamplingSettings::cache_refresh`).
#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Speed {
    /// Fast once the text a step reads is `SHARED.auto_fast_ratio` times the marks or more
    /// (a span-local step then computes at most a quarter of what a full one does), else exact.
    #[default]
    Auto,
    Exact,
    Fast,
}

#[cfg_attr(test, derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub theme: Theme,
    pub sampling: SamplingSettings,
    pub device: DeviceChoice,
    /// None: the device's default.
    pub dtype: Option<Precision>,
    /// A Hub mirror (sets `HF_ENDPOINT` for downloads).
    pub hf_endpoint: Option<String>,
    /// The model to load at start: "demo", a folder, or a Hub repo id.
    pub last_model: Option<String>,
    /// Versions written per run, to flip between.
    pub candidates: usize,
    pub speed: Speed,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            theme: Theme::System,
            sampling: SamplingSettings { steps: 32, ..Default::default() },
            device: DeviceChoice::Auto,
            dtype: None,
            hf_endpoint: None,
            last_model: None,
            candidates: 1,
            speed: Speed::Auto,
        }
    }
}

impl Settings {
    fn path(dir: &Path) -> PathBuf {
        dir.join("settings.json")
    }

    /// The saved settings, validated as a change would be; the defaults when there are none.
    /// A file that cannot be read or holds bad values is moved aside (never overwritten) and
    /// the second value says so, to tell the writer once.
    pub fn load(dir: &Path) -> (Self, Option<String>) {
        let path = Self::path(dir);
        let Ok(bytes) = std::fs::read(&path) else { return (Settings::default(), None) };
        let why = match serde_json::from_slice::<Settings>(&bytes) {
            Ok(s) => match s.validate() {
                // Older versions chose fast by saving a span-local interval, and had no speed.
                Ok(()) if s.sampling.cache_refresh.is_some_and(|r| r > 1) && !has_speed(&bytes) => {
                    return (Settings { speed: Speed::Fast, ..s }, None)
                }
                Ok(()) => return (s, None),
                Err(e) => e.message,
            },
            Err(e) => format!("not valid settings: {e}"),
        };
        let notice = format!("{} The default settings are used.", set_aside(&path, &why));
        (Settings::default(), Some(notice))
    }

    pub fn validate(&self) -> CommandResult<()> {
        if let Some(url) = &self.hf_endpoint {
            dream_engine::hub::check_endpoint(url)
                .map_err(|e| CommandError::new(ErrorCode::InvalidSettings, format!("Mirror {e}.")))?;
        }
        if !(1..=dream_engine::request::MAX_CANDIDATES).contains(&self.candidates) {
            return Err(CommandError::new(
                ErrorCode::InvalidSettings,
                format!("{} candidates: choose 1 to {}", self.candidates, dream_engine::request::MAX_CANDIDATES),
            ));
        }
        self.sampling.validate()?;
        if self.sampling.temperature > SHARED.max_temperature {
            return Err(CommandError::new(
                ErrorCode::InvalidSettings,
                format!("A temperature of {}: choose 0 to {}.", self.sampling.temperature, SHARED.max_temperature),
            ));
        }
        Ok(())
    }

    pub fn save(&self, dir: &Path) -> CommandResult<()> {
        let json = serde_json::to_string_pretty(self).expect("settings serialise");
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, "create", &e))?;
        write_atomic(&Self::path(dir), json.as_bytes())
    }
}

/// Whether a settings file says which speed (files of older versions do not).
fn has_speed(bytes: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bytes).is_ok_and(|v| v.get("speed").is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreadable_or_invalid_settings_are_moved_aside_and_said_once() {
        for (bad, why) in [("{ not json", "not valid settings"), (r#"{"candidates": 99}"#, "99 candidates")] {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("settings.json"), bad).unwrap();
            let (settings, notice) = Settings::load(dir.path());
            assert_eq!(settings, Settings::default());
            let notice = notice.expect("the writer is told");
            assert!(notice.contains(why) && notice.contains("default settings are used"), "{notice}");
            let kept: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(kept.len(), 1);
            let kept = dir.path().join(&kept[0]);
            assert!(kept.to_string_lossy().contains("settings.json.unreadable-"), "{}", kept.display());
            assert_eq!(std::fs::read_to_string(kept).unwrap(), bad, "the writer's file is kept as it was");
            assert_eq!(Settings::load(dir.path()).1, None, "said once");
        }
    }

    #[test]
    fn the_theme_is_one_of_three() {
        let s: Settings = serde_json::from_str(r#"{"theme": "dark"}"#).unwrap();
        assert_eq!(s.theme, Theme::Dark);
        let e = serde_json::from_str::<Settings>(r#"{"theme": "neon"}"#).unwrap_err();
        assert!(e.to_string().contains("unknown variant `neon`"), "{e}");
    }

    #[test]
    fn a_temperature_outside_its_range_is_refused() {
        let mut s = Settings::default();
        s.sampling.temperature = 7.5;
        let e = s.validate().unwrap_err();
        assert!(e.message.contains("choose 0 to 2"), "{}", e.message);
        s.sampling.temperature = 2.0;
        s.validate().unwrap();
    }

    /// Speed is new: an older file that chose fast (a span-local interval) stays fast, any other
    /// gets the default (by length), and a file that says its speed keeps it.
    #[test]
    fn the_speed_of_an_older_settings_file_is_kept() {
        let load = |json: &str| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("settings.json"), json).unwrap();
            Settings::load(dir.path()).0.speed
        };
        let sampling = |refresh: &str| {
            format!(
                r#"{{"steps": 32, "cache_refresh": {refresh}, "alg": "entropy", "temperature": 0.0, "top_p": null, "top_k": null, "alg_temp": null, "eps": 0.001, "seed": 0}}"#
            )
        };
        assert_eq!(load(&format!(r#"{{"sampling": {}}}"#, sampling("8"))), Speed::Fast);
        assert_eq!(load(&format!(r#"{{"sampling": {}}}"#, sampling("null"))), Speed::Auto);
        assert_eq!(load(&format!(r#"{{"sampling": {}, "speed": "exact"}}"#, sampling("32"))), Speed::Exact);
    }
}
