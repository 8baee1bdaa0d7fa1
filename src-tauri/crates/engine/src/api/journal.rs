//! The job journal: every job with its timing, filtered by session, drive, command,
//! state and time.

use super::{Api, ApiError};
use drivedeck_domain::DriveRef;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One job of the journal, with its timing: queued → sent → finished.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    #[ts(type = "number")]
    id: i64,
    #[ts(type = "number | null")]
    session: Option<i64>,
    command: String,
    /// The link, for drive jobs and a disconnect.
    link: Option<u32>,
    drive: Option<DriveRef>,
    /// Its class on the link: `telemetry`, `user`, `safety`, `eStop`.
    priority: String,
    state: String,
    reason: Option<String>,
    queued_at_ms: f64,
    /// By when it had to be sent, if it had a deadline.
    deadline_at_ms: Option<f64>,
    sent_at_ms: Option<f64>,
    finished_at_ms: Option<f64>,
}

/// Which jobs the journal lists; every field set narrows it.
#[derive(Clone, Debug, Deserialize, Default, TS)]
#[serde(rename_all = "camelCase", default)]
#[ts(optional_fields = nullable)]
pub struct JobQuery {
    #[ts(as = "Option<f64>")]
    session: Option<i64>,
    drive: Option<DriveRef>,
    command: Option<String>,
    state: Option<String>,
    /// Queued at or after, ms since the epoch.
    since_ms: Option<f64>,
    /// Queued before, ms since the epoch.
    until_ms: Option<f64>,
    /// At most this many, newest first (1–1000; 100 when absent).
    limit: Option<u32>,
}

/// The job states the journal knows.
const JOB_STATES: &[&str] = &["queued", "sent", "done", "failed", "timedOut", "cancelled"];

impl JobQuery {
    /// The store's filter, or why the query makes no sense.
    fn filter(self) -> Result<drivedeck_store::JobFilter, ApiError> {
        if let Some(state) = &self.state
            && !JOB_STATES.contains(&state.as_str())
        {
            return Err(ApiError::Invalid(format!(
                "unknown job state {state:?} (one of {})",
                JOB_STATES.join(", ")
            )));
        }
        let micros = |ms: Option<f64>, what: &str| -> Result<Option<i64>, ApiError> {
            match ms {
                Some(ms) if !ms.is_finite() => Err(ApiError::Invalid(format!(
                    "the journal's {what} time is not a number"
                ))),
                Some(ms) => Ok(Some((ms * 1000.0).round() as i64)),
                None => Ok(None),
            }
        };
        let limit = self.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(ApiError::Invalid(format!(
                "journal limit {limit} is outside 1–1000"
            )));
        }
        Ok(drivedeck_store::JobFilter {
            session: self.session,
            drive: self.drive,
            command: self.command.filter(|c| !c.is_empty()),
            state: self.state,
            since_us: micros(self.since_ms, "from")?,
            until_us: micros(self.until_ms, "to")?,
            limit: limit as usize,
        })
    }
}

impl Api {
    /// The job journal, filtered (see [`JobQuery`]), newest first.
    pub fn jobs(&self, query: JobQuery) -> Result<Vec<JobView>, ApiError> {
        let rows = self.reader().jobs(&query.filter()?)?;
        let ms = |us: i64| us as f64 / 1000.0;
        Ok(rows
            .into_iter()
            .map(|j| JobView {
                id: j.id,
                session: j.session,
                command: j.command,
                link: j.link,
                drive: j.drive,
                priority: j.priority,
                state: j.state,
                reason: j.reason,
                queued_at_ms: ms(j.queued_us),
                deadline_at_ms: j.deadline_us.map(ms),
                sent_at_ms: j.sent_us.map(ms),
                finished_at_ms: j.finished_us.map(ms),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(json: serde_json::Value) -> JobQuery {
        serde_json::from_value(json).expect("a job query")
    }

    #[test]
    fn an_empty_query_lists_the_newest_hundred() {
        let filter = query(serde_json::json!({})).filter().expect("valid");
        assert_eq!(filter.limit, 100);
        assert_eq!((filter.session, filter.drive), (None, None));
        assert_eq!((filter.since_us, filter.until_us), (None, None));
    }

    #[test]
    fn times_become_microseconds_and_an_empty_command_is_no_filter() {
        let filter = query(serde_json::json!({
            "session": 3, "drive": { "link": 1, "id": 2 }, "command": "",
            "state": "timedOut", "sinceMs": 1.5, "untilMs": 2000, "limit": 1000,
        }))
        .filter()
        .expect("valid");
        assert_eq!(filter.session, Some(3));
        assert_eq!(filter.drive, Some(DriveRef { link: 1, id: 2 }));
        assert_eq!(filter.command, None);
        assert_eq!(filter.state.as_deref(), Some("timedOut"));
        assert_eq!(
            (filter.since_us, filter.until_us),
            (Some(1500), Some(2_000_000))
        );
        assert_eq!(filter.limit, 1000);
    }

    #[test]
    fn a_bad_query_is_refused_with_the_reason() {
        for (json, reason) in [
            (serde_json::json!({ "state": "lost" }), "unknown job state"),
            (serde_json::json!({ "limit": 0 }), "outside 1–1000"),
            (serde_json::json!({ "limit": 1001 }), "outside 1–1000"),
        ] {
            let error = query(json.clone()).filter().expect_err("refused");
            assert_eq!(error.kind(), super::super::ErrorKind::Invalid);
            assert!(error.to_string().contains(reason), "{json}: {error}");
        }
        let nan = JobQuery {
            since_ms: Some(f64::NAN),
            ..JobQuery::default()
        };
        let error = nan.filter().expect_err("refused");
        assert!(
            error.to_string().contains("from time is not a number"),
            "{error}"
        );
    }
}
