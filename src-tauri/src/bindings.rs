//! The TypeScript types of the IPC, generated with ts-rs from the Rust types: the
//! engine API's views (`drivedeck_engine::api`), the domain's commands, and the shell's
//! settings and error.
//!
//! `cargo test -p drivedeck` writes them to `ui/src/backend/generated/` (one file per
//! type) and fails when the files there were stale, so a change to an IPC type cannot
//! land without the UI's types following it: commit what the test wrote. The UI uses
//! them through `ui/src/backend/types.ts`.

use crate::error::IpcError;
use crate::settings::{Recent, Settings};
use drivedeck_domain::Command;
use drivedeck_engine::api::{
    AppStatus, AssignDone, AssignRequest, ChannelView, Comparison, DriveView, ExportUnit,
    FaultView, JobQuery, JobView, ParamDiffView, ParamExport, ParamTable, PredictRequest, RunQuery,
    RunSummary, RunView, SessionSummary, SetupDone, SnapshotView, SuggestRequest, SuggestionView,
    TuneDefaults,
};
use drivedeck_engine::api::{PassiveRequest, StopNotice};
use drivedeck_engine::tuning::model::ModelResults;
use drivedeck_engine::tuning::passive::PassiveView;
use drivedeck_engine::tuning::whatif::Prediction;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use ts_rs::TS;

/// Where the UI keeps the generated types.
fn generated_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/src/backend/generated")
}

/// Every `.ts` file of `dir` by name, with its text.
fn ts_files(dir: &Path) -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "ts"))
        .map(|e| {
            let text = std::fs::read_to_string(e.path()).expect("readable generated file");
            (e.file_name().to_string_lossy().into_owned(), text)
        })
        .collect()
}

/// What ts-rs makes of the IPC's types today (each with the types it uses).
fn generate(dir: &Path) -> BTreeMap<String, String> {
    AppStatus::export_all_to(dir).expect("AppStatus");
    StopNotice::export_all_to(dir).expect("StopNotice");
    DriveView::export_all_to(dir).expect("DriveView");
    JobView::export_all_to(dir).expect("JobView");
    JobQuery::export_all_to(dir).expect("JobQuery");
    ChannelView::export_all_to(dir).expect("ChannelView");
    ExportUnit::export_all_to(dir).expect("ExportUnit");
    SessionSummary::export_all_to(dir).expect("SessionSummary");
    FaultView::export_all_to(dir).expect("FaultView");
    Settings::export_all_to(dir).expect("Settings");
    Recent::export_all_to(dir).expect("Recent");
    Command::export_all_to(dir).expect("Command");
    ParamTable::export_all_to(dir).expect("ParamTable");
    SnapshotView::export_all_to(dir).expect("SnapshotView");
    ParamDiffView::export_all_to(dir).expect("ParamDiffView");
    ParamExport::export_all_to(dir).expect("ParamExport");
    IpcError::export_all_to(dir).expect("IpcError");
    TuneDefaults::export_all_to(dir).expect("TuneDefaults");
    RunQuery::export_all_to(dir).expect("RunQuery");
    RunSummary::export_all_to(dir).expect("RunSummary");
    RunView::export_all_to(dir).expect("RunView");
    ModelResults::export_all_to(dir).expect("ModelResults");
    SuggestRequest::export_all_to(dir).expect("SuggestRequest");
    SuggestionView::export_all_to(dir).expect("SuggestionView");
    PredictRequest::export_all_to(dir).expect("PredictRequest");
    Prediction::export_all_to(dir).expect("Prediction");
    Comparison::export_all_to(dir).expect("Comparison");
    PassiveRequest::export_all_to(dir).expect("PassiveRequest");
    PassiveView::export_all_to(dir).expect("PassiveView");
    SetupDone::export_all_to(dir).expect("SetupDone");
    AssignRequest::export_all_to(dir).expect("AssignRequest");
    AssignDone::export_all_to(dir).expect("AssignDone");
    ts_files(dir)
}

#[test]
fn typescript_bindings_are_current() {
    let fresh_dir = tempfile::tempdir().expect("temp dir");
    let fresh = generate(fresh_dir.path());
    assert!(fresh.contains_key("Command.ts") && fresh.contains_key("DriveRef.ts"));
    let dir = generated_dir();
    let committed = ts_files(&dir);
    let stale: Vec<&String> = fresh
        .keys()
        .filter(|name| committed.get(*name) != fresh.get(*name))
        .chain(committed.keys().filter(|name| !fresh.contains_key(*name)))
        .collect();
    if stale.is_empty() {
        return;
    }
    // Bring them up to date, then fail: the change must be committed with the Rust one.
    std::fs::create_dir_all(&dir).expect("generated dir");
    for name in committed.keys().filter(|n| !fresh.contains_key(*n)) {
        std::fs::remove_file(dir.join(name)).expect("remove an old type");
    }
    for (name, text) in &fresh {
        std::fs::write(dir.join(name), text).expect("write a type");
    }
    panic!(
        "the TypeScript types in {} were stale and are now regenerated ({stale:?}); \
         commit them",
        dir.display()
    );
}

#[test]
fn numbers_stay_numbers() {
    // serde sends i64/u64 as JSON numbers; ts-rs would call them bigint unless told.
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in generate(dir.path()) {
        assert!(!text.contains("bigint"), "{name}: {text}");
    }
}
