//! Why drives stopped, for the window's stop banner: every stop DriveDeck did not make at
//! the user's word — the supervisor's safe stops (the journal's `safeStop` jobs, their
//! reason), a link lost (the store's link gaps: its drives' own Bus Watchdog stops them,
//! and DriveDeck switches them off when the link is back) and a tuning run aborted by
//! anything but the user's Abort — since a time, oldest first, each with a key the window
//! acknowledges it by.

use super::{Api, ApiError};
use drivedeck_domain::DriveRef;
use drivedeck_store::{JobFilter, RunFilter};
use serde::Serialize;
use ts_rs::TS;

/// One stop to tell the user about.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct StopNotice {
    /// Unique among notices (`job:12`, `link:1:1765…`, `run:7`).
    pub key: String,
    /// `safeStop`, `linkLost` or `testAborted`.
    pub kind: String,
    /// Why, in words.
    pub reason: String,
    /// When, ms since the epoch.
    pub at_ms: f64,
    /// The link, where one.
    pub link: Option<u32>,
    /// The drive, where one.
    pub drive: Option<DriveRef>,
}

/// Runs ended by the user's own Abort, or by an E-stop or safe stop (the user's own, or
/// told as a safe stop already): not told again as an aborted test.
const TOLD_ELSEWHERE: [&str; 2] = [
    "aborted by the user",
    "an E-stop or safe stop ended the run",
];

/// The most notices of each kind read.
const MAX_NOTICES: usize = 50;

impl Api {
    /// The stops since `since_ms` (ms since the epoch), oldest first.
    pub fn stop_notices(&self, since_ms: f64) -> Result<Vec<StopNotice>, ApiError> {
        if !since_ms.is_finite() {
            return Err(ApiError::Invalid(format!("{since_ms} is not a time")));
        }
        let since_us = (since_ms * 1000.0) as i64;
        let reader = self.reader();
        let mut notices = Vec::new();
        for j in reader.jobs(&JobFilter {
            command: Some("safeStop".into()),
            since_us: Some(since_us),
            limit: MAX_NOTICES,
            ..JobFilter::default()
        })? {
            let reason = j
                .reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .unwrap_or("safe stop (no reason recorded)");
            notices.push(StopNotice {
                key: format!("job:{}", j.id),
                kind: "safeStop".into(),
                reason: reason.to_string(),
                at_ms: j.queued_us as f64 / 1000.0,
                link: j.link,
                drive: j.drive,
            });
        }
        let session = self.engine.session();
        for gap in reader.gaps(session)? {
            if gap.from_us < since_us {
                continue;
            }
            let back = match gap.to_us {
                Some(_) => "; it is back (every drive found enabled was switched off)",
                None => "",
            };
            notices.push(StopNotice {
                key: format!("link:{}:{}", gap.link, gap.from_us),
                kind: "linkLost".into(),
                reason: format!("link {} lost: {}{back}", gap.link, gap.reason),
                at_ms: gap.from_us as f64 / 1000.0,
                link: Some(gap.link),
                drive: None,
            });
        }
        for run in reader.runs(&RunFilter {
            since_us: Some(since_us),
            limit: MAX_NOTICES,
            ..RunFilter::default()
        })? {
            let reason = run.reason.clone().unwrap_or_default();
            if run.state != "aborted" || TOLD_ELSEWHERE.iter().any(|r| reason.starts_with(r)) {
                continue;
            }
            notices.push(StopNotice {
                key: format!("run:{}", run.id),
                kind: "testAborted".into(),
                reason: format!(
                    "tuning run {} on drive {} aborted: {reason}",
                    run.id, run.drive.id
                ),
                at_ms: run.finished_us.unwrap_or(run.started_us) as f64 / 1000.0,
                link: Some(run.drive.link),
                drive: Some(run.drive),
            });
        }
        notices.sort_by(|a, b| a.at_ms.total_cmp(&b.at_ms).then(a.key.cmp(&b.key)));
        Ok(notices)
    }
}
