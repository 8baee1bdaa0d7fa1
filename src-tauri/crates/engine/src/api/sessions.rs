//! Sessions: the browser's list and search, one session, starting and stopping a named
//! recording, notes, and the faults raised in a session.

use super::{Api, ApiError};
use drivedeck_domain::DriveRef;
use drivedeck_store::{Reader, SessionId, SessionRow};
use serde::Serialize;
use ts_rs::TS;

/// A drive a session used.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionDriveView {
    drive: DriveRef,
    model: String,
    port: String,
    protocol: String,
}

/// A session, for the browser.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionSummary {
    #[ts(type = "number")]
    id: i64,
    name: String,
    notes: String,
    started_at_ms: f64,
    stopped_at_ms: Option<f64>,
    /// Seconds from start to stop (to now while recording).
    duration_s: f64,
    /// Samples recorded, all channels.
    #[ts(type = "number")]
    samples: i64,
    /// True for the session being recorded now.
    recording: bool,
    drives: Vec<SessionDriveView>,
}

/// A fault a drive raised in a session; times in s since the session started.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FaultView {
    drive: DriveRef,
    text: String,
    raised_s: f64,
    cleared_s: Option<f64>,
}

/// The most sessions the browser lists.
const SESSION_LIST_LIMIT: usize = 500;

impl Api {
    /// Sessions, newest first (at most 500); with `search`, those whose name or notes
    /// contain it.
    pub fn sessions(&self, search: Option<&str>) -> Result<Vec<SessionSummary>, ApiError> {
        let reader = self.reader();
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        reader
            .sessions(search)?
            .into_iter()
            .take(SESSION_LIST_LIMIT)
            .map(|row| self.summary(&reader, row))
            .collect()
    }

    /// Session `id`.
    pub fn session(&self, id: SessionId) -> Result<SessionSummary, ApiError> {
        let reader = self.reader();
        let row = reader.session(id)?;
        self.summary(&reader, row)
    }

    /// Starts recording a named session (the current one stops); returns it.
    pub fn session_start(&self, name: &str, notes: &str) -> Result<SessionSummary, ApiError> {
        let id = self.engine.start_session(name, notes)?;
        self.session(id)
    }

    /// Stops the current recording. Recording never stops: an automatic "Live …"
    /// session takes over, and is returned.
    pub fn session_stop(&self) -> Result<SessionSummary, ApiError> {
        let id = self.engine.stop_session()?;
        self.session(id)
    }

    /// Renames a session (when `name` is given) and sets its notes; returns it.
    pub fn session_set_notes(
        &self,
        session: SessionId,
        name: Option<&str>,
        notes: &str,
    ) -> Result<SessionSummary, ApiError> {
        self.engine.set_session_notes(session, name, notes)?;
        self.session(session)
    }

    /// The faults raised in a session, in the order raised.
    pub fn faults(&self, session: SessionId) -> Result<Vec<FaultView>, ApiError> {
        let reader = self.reader();
        let started = reader.session(session)?.started_us;
        let s = |t: i64| (t - started) as f64 / 1e6;
        Ok(reader
            .faults(session)?
            .into_iter()
            .map(|f| FaultView {
                drive: f.drive,
                text: f.text,
                raised_s: s(f.raised_us),
                cleared_s: f.cleared_us.map(s),
            })
            .collect())
    }

    /// `row` as the browser shows it: its duration (to now while recording) and drives.
    fn summary(&self, reader: &Reader, row: SessionRow) -> Result<SessionSummary, ApiError> {
        let recording = row.id == self.engine.session();
        let end = match (row.stopped_us, recording) {
            (Some(stopped), _) => stopped,
            (None, true) => self.engine.clock().now(),
            // Never stopped and not current: the app ended without closing it (a crash).
            (None, false) => row.started_us,
        };
        let drives = reader
            .session_drives(row.id)?
            .into_iter()
            .map(|d| SessionDriveView {
                drive: d.drive,
                model: d.model,
                port: d.port,
                protocol: d.protocol,
            })
            .collect();
        Ok(SessionSummary {
            id: row.id,
            name: row.name,
            notes: row.notes,
            started_at_ms: row.started_us as f64 / 1000.0,
            stopped_at_ms: row.stopped_us.map(|t| t as f64 / 1000.0),
            duration_s: (end - row.started_us).max(0) as f64 / 1e6,
            samples: row.samples,
            recording,
            drives,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind;
    use super::super::test_rig::{json, sim_api, wait_until};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_named_recording_is_listed_found_renamed_and_stopped() {
        let dir = tempfile::tempdir().expect("dir");
        let (api, _rig) = sim_api(&dir).await;
        let live = api.engine().session();
        let error = api.session_start("  ", "").expect_err("a name is needed");
        assert!(error.to_string().contains("needs a name"), "{error}");
        assert_eq!(
            api.engine().session(),
            live,
            "a refused start changes nothing"
        );

        let named = api
            .session_start("step test", "kp 8, no load")
            .expect("started");
        let id = named.id;
        assert_ne!(id, live);
        let shown = json(&named);
        assert_eq!(
            (&shown["name"], &shown["notes"]),
            (&"step test".into(), &"kp 8, no load".into())
        );
        assert_eq!(
            (&shown["recording"], &shown["stoppedAtMs"]),
            (&true.into(), &serde_json::Value::Null)
        );
        wait_until(&api, "the session's drives recorded", || {
            api.session(id).expect("session").drives.len() == 2
        })
        .await;
        let drive = json(&api.session(id).expect("session").drives[0]);
        assert_eq!(drive["model"], "XM430-W350");
        assert_eq!(drive["protocol"], "dynamixel2");

        let found = api.sessions(Some(" kp 8 ")).expect("search");
        assert_eq!(found.iter().map(|s| s.id).collect::<Vec<_>>(), [id]);
        let all = api.sessions(Some("  ")).expect("no search");
        assert_eq!(
            all.iter().map(|s| s.id).collect::<Vec<_>>(),
            [id, live],
            "newest first"
        );
        assert!(!all[1].recording, "the live session stopped");

        let renamed = api
            .session_set_notes(id, Some("step test 2"), "kp 9")
            .expect("renamed");
        assert_eq!(
            (renamed.name.as_str(), renamed.notes.as_str()),
            ("step test 2", "kp 9")
        );

        tokio::time::sleep(Duration::from_millis(200)).await;
        let automatic = api.session_stop().expect("stopped");
        assert!(automatic.name.starts_with("Live "), "{}", automatic.name);
        assert!(automatic.recording);
        let stopped = api.session(id).expect("session");
        assert!(!stopped.recording);
        let stopped_at = stopped.stopped_at_ms.expect("a stop time");
        let duration = (stopped_at - stopped.started_at_ms) / 1000.0;
        assert!(
            (stopped.duration_s - duration).abs() < 1e-6,
            "{}",
            stopped.duration_s
        );
        assert!(stopped.duration_s >= 0.2, "{}", stopped.duration_s);
        assert!(stopped.samples > 0);

        assert!(api.faults(id).expect("faults").is_empty());
        let error = api.faults(9_999).expect_err("no such session");
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
        api.engine().shutdown().await;
    }
}
