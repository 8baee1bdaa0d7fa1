//! What the API's tests share: an API over an engine whose store is a real file, on a
//! simulated rig reached through its pty (one rig at a time), and a bounded wait.

use super::Api;
use crate::{Engine, EngineConfig, Protocol};
use drivedeck_domain::DriveRef;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The rig's first drive.
pub const DRIVE_1: DriveRef = DriveRef { link: 1, id: 1 };

/// One rig at a time: a vanished pty's number goes to the next pty opened, and a link
/// reconnecting to that path would reach another test's drives.
static RIGS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// An API over an engine with its store in `dir`, connected to simulated XM430 drives 1
/// and 2 (link 1); hold the guard for the whole test.
pub async fn sim_api(dir: &tempfile::TempDir) -> (Api, tokio::sync::MutexGuard<'static, ()>) {
    let turn = RIGS.lock().await;
    let api = engine_api(dir);
    let link = api
        .engine()
        .connect_sim_rig(Protocol::Dynamixel2, &[1, 2])
        .await
        .expect("sim rig");
    assert_eq!(link, 1);
    (api, turn)
}

/// The turn to start a rig of one's own (see `RIGS`); hold it for the whole test.
pub async fn rig_turn() -> tokio::sync::MutexGuard<'static, ()> {
    RIGS.lock().await
}

/// An API over an engine with its store in `dir` and no link.
pub fn engine_api(dir: &tempfile::TempDir) -> Api {
    let engine = Engine::start(EngineConfig::new(dir.path().join("api.db"))).expect("engine");
    Api::new(Arc::new(engine)).expect("api")
}

/// `value` as the client receives it.
pub fn json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("serialisable")
}

/// Polls `done` (after committing what the engine reported) every 20 ms until it holds;
/// fails with `what` after 8 s.
pub async fn wait_until(api: &Api, what: &str, mut done: impl FnMut() -> bool) {
    let since = Instant::now();
    loop {
        api.engine().flush().expect("flush");
        if done() {
            return;
        }
        assert!(since.elapsed() < Duration::from_secs(8), "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
