//! The TypeScript declarations of everything the commands and channels exchange with the page,
//! generated from the Rust types (ts-rs) into `ui/src/bindings.ts`. The test fails when that
//! file differs from what the types say; `UPDATE_BINDINGS=1 cargo test -p dream-writer
//! bindings` rewrites it.

use std::path::Path;

use ts_rs::{Config, TS};

use crate::activity::{ModelInfo, ModelNote};
use crate::authorship::Authored;
use crate::commands::copies::{CopyProgress, CopyType};
use crate::commands::document::{Opened, Saved};
use crate::commands::fit::FitEstimate;
use crate::commands::generate::{Edits, StepUpdate, Written};
use crate::commands::model::{LoadEvent, LoadRequest, ModelEntry, ModelPick, ModelStatus, SystemInfo};
use crate::commands::window::WindowNotice;
use crate::desk::{DocState, RecentEntry, SavedMark};
use crate::documents::{DiskState, OnDisk};
use crate::error::{CommandError, ErrorCode};
use crate::settings::{Settings, Speed, Theme};
use crate::shared::{Shared, SHARED};
use dream_engine::device::GpuInfo;
use dream_engine::hub::{Damage, DownloadProgress};
use dream_engine::memory::MemoryEstimate;
use dream_engine::request::{Ending, FilledSpan, Slot, SpanView};
use dream_engine::{Alg, DeviceChoice, InfillRequest, Precision, SamplingSettings, Span, StepCost, StepFlops};

/// One declaration, with its doc comment.
fn declare<T: TS>(cfg: &Config) -> String {
    let docs = T::docs().map(|d| format!("{d}\n")).unwrap_or_default();
    format!("{docs}export {}\n", T::decl(cfg))
}

fn generated() -> String {
    // Byte counts and seeds are u64 in Rust and plain numbers in JSON (exact below 2^53).
    let cfg = Config::new().with_large_int("number");
    let declarations = [
        declare::<Alg>(&cfg),
        declare::<SamplingSettings>(&cfg),
        declare::<Span>(&cfg),
        declare::<Authored>(&cfg),
        declare::<Ending>(&cfg),
        declare::<InfillRequest>(&cfg),
        declare::<Slot>(&cfg),
        declare::<SpanView>(&cfg),
        declare::<StepCost>(&cfg),
        declare::<StepUpdate>(&cfg),
        declare::<FilledSpan>(&cfg),
        declare::<Edits>(&cfg),
        declare::<Written>(&cfg),
        declare::<DeviceChoice>(&cfg),
        declare::<Precision>(&cfg),
        declare::<StepFlops>(&cfg),
        declare::<ModelNote>(&cfg),
        declare::<ModelInfo>(&cfg),
        declare::<ModelStatus>(&cfg),
        declare::<ModelEntry>(&cfg),
        declare::<LoadRequest>(&cfg),
        declare::<Damage>(&cfg),
        declare::<DownloadProgress>(&cfg),
        declare::<LoadEvent>(&cfg),
        declare::<MemoryEstimate>(&cfg),
        declare::<FitEstimate>(&cfg),
        declare::<CopyType>(&cfg),
        declare::<CopyProgress>(&cfg),
        declare::<ModelPick>(&cfg),
        declare::<GpuInfo>(&cfg),
        declare::<SystemInfo>(&cfg),
        declare::<Theme>(&cfg),
        declare::<Speed>(&cfg),
        declare::<Settings>(&cfg),
        declare::<SavedMark>(&cfg),
        declare::<DocState>(&cfg),
        declare::<OnDisk>(&cfg),
        declare::<Opened>(&cfg),
        declare::<Saved>(&cfg),
        declare::<RecentEntry>(&cfg),
        declare::<DiskState>(&cfg),
        declare::<WindowNotice>(&cfg),
        declare::<ErrorCode>(&cfg),
        declare::<CommandError>(&cfg),
        declare::<Shared>(&cfg),
    ];
    let shared = serde_json::to_string_pretty(&SHARED).expect("the shared values serialise");
    let defaults = serde_json::to_string_pretty(&Settings::default()).expect("the settings serialise");
    format!(
        "// Generated from the Rust types by src-tauri/src/bindings.rs: do not edit by hand.\n\n{}\n\
         /** The values of `Shared` (src-tauri/src/shared.rs). */\nexport const SHARED: Shared = {shared};\n\n\
         /** `Settings::default()` (src-tauri/src/settings.rs): what a first start has. */\n\
         export const DEFAULT_SETTINGS: Settings = {defaults};\n",
        declarations.join("\n"),
    )
}

#[test]
fn the_page_declarations_match_the_rust_types() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts");
    let want = generated();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &want).expect("write ui/src/bindings.ts");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "ui/src/bindings.ts is out of date with the Rust types: run `UPDATE_BINDINGS=1 cargo test -p dream-writer bindings` and commit it"
    );
}
