//! The status line: the session being recorded, the connected links with their health,
//! the committed cursor and any store failure.

use super::{Api, ApiError};
use serde::Serialize;
use ts_rs::TS;

/// The session being recorded.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    #[ts(type = "number")]
    id: i64,
    name: String,
    #[ts(type = "number")]
    started_at_ms: i64,
}

/// A connected link.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LinkView {
    id: u32,
    port: String,
    protocol: String,
    baud: u32,
    up: bool,
    simulated: bool,
    health: Option<HealthView>,
}

/// A link's health, for the status bar.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HealthView {
    rtt_p50_ms: Option<f64>,
    rtt_p99_ms: Option<f64>,
    #[ts(type = "number")]
    exchanges: u64,
    #[ts(type = "number")]
    timeouts: u64,
    #[ts(type = "number")]
    corrupt: u64,
    #[ts(type = "number")]
    retries: u64,
    poll_hz: f64,
    poll_target_hz: f64,
    adapter_warning: Option<String>,
}

impl From<drivedeck_bus::health::LinkHealth> for HealthView {
    fn from(h: drivedeck_bus::health::LinkHealth) -> Self {
        let ms = |d: Option<std::time::Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
        HealthView {
            rtt_p50_ms: ms(h.rtt_quantile(0.5)),
            rtt_p99_ms: ms(h.rtt_quantile(0.99)),
            exchanges: h.exchanges,
            timeouts: h.timeouts,
            corrupt: h.corrupt,
            retries: h.retries,
            poll_hz: h.poll_hz,
            poll_target_hz: h.poll_target_hz,
            adapter_warning: h.adapter_warning,
        }
    }
}

/// The status line.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    session: Option<SessionView>,
    links: Vec<LinkView>,
    #[ts(type = "number")]
    committed_cursor: i64,
    /// Why the store stopped recording (disk full, file read-only…), if it did.
    store_failure: Option<String>,
}

impl Api {
    /// The status line: the current session, every link (up or not, its health), how
    /// far the store has committed and why it stopped recording, if it did.
    pub fn app_status(&self) -> Result<AppStatus, ApiError> {
        let engine = &self.engine;
        let session = self.reader().session(engine.session())?;
        let links = engine
            .links()
            .into_iter()
            .map(|l| LinkView {
                id: l.id,
                port: l.port,
                protocol: l.protocol,
                baud: l.baud,
                up: engine.link_up(l.id),
                simulated: l.simulated,
                health: engine.link_health(l.id).map(HealthView::from),
            })
            .collect();
        Ok(AppStatus {
            session: Some(SessionView {
                id: session.id,
                name: session.name,
                started_at_ms: session.started_us / 1000,
            }),
            links,
            committed_cursor: engine.committed(),
            store_failure: engine.store_failure(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_rig::{json, sim_api, wait_until};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_status_line_shows_the_session_and_the_simulated_link() {
        let dir = tempfile::tempdir().expect("dir");
        let (api, _rig) = sim_api(&dir).await;
        wait_until(&api, "samples committed", || api.engine().committed() > 0).await;
        let status = json(&api.app_status().expect("status"));
        assert_eq!(status["session"]["id"], api.engine().session());
        let name = status["session"]["name"].as_str().expect("a name");
        assert!(name.starts_with("Live "), "{name}");
        assert!(status["session"]["startedAtMs"].as_i64().expect("ms") > 1_700_000_000_000);
        assert!(status["committedCursor"].as_i64().expect("cursor") > 0);
        assert_eq!(status["storeFailure"], serde_json::Value::Null);
        let links = status["links"].as_array().expect("links");
        assert_eq!(links.len(), 1);
        let link = &links[0];
        assert_eq!(
            (&link["id"], &link["protocol"], &link["baud"]),
            (&1.into(), &"dynamixel2".into(), &crate::SIM_BAUD.into())
        );
        assert_eq!(
            (&link["up"], &link["simulated"]),
            (&true.into(), &true.into())
        );
        let health = &link["health"];
        assert!(
            health["exchanges"].as_u64().expect("exchanges") > 0,
            "{health}"
        );
        assert!(
            health["pollTargetHz"].as_f64().expect("target") > 0.0,
            "{health}"
        );
        api.engine().shutdown().await;
    }
}
