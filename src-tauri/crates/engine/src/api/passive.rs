//! A passive step-response estimate through the API: any recorded session range of a
//! drive — ordinary moves, no test run — deconvolved into the loop's step response from
//! the journal's target jobs and the recorded response; offline, from the store alone.

use super::{Api, ApiError};
use crate::tuning::passive::{PassiveView, estimate};
use drivedeck_domain::{Command, DriveRef, Target};
use drivedeck_store::JobFilter;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Which range to estimate from.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PassiveRequest {
    /// The session.
    #[ts(type = "number")]
    pub session: i64,
    /// The drive.
    pub drive: DriveRef,
    /// The range, s from the session's start.
    pub from_s: f64,
    /// See `from_s`.
    pub to_s: f64,
}

/// The most journal entries one estimate reads.
const MAX_TARGETS: usize = 100_000;

impl Api {
    /// The step response of `request.drive`'s loop estimated from `request`'s range.
    pub fn tune_passive(&self, request: &PassiveRequest) -> Result<PassiveView, ApiError> {
        if !(request.from_s.is_finite()
            && request.to_s.is_finite()
            && request.to_s > request.from_s
            && request.from_s >= 0.0)
        {
            return Err(ApiError::Invalid(format!(
                "{}–{} s is not a range",
                request.from_s, request.to_s
            )));
        }
        let reader = self.engine.reader()?;
        let session = reader.session(request.session)?;
        let from_us = session.started_us + (request.from_s * 1e6) as i64;
        let to_us = session.started_us + (request.to_s * 1e6) as i64;
        let jobs = reader.jobs(&JobFilter {
            session: Some(request.session),
            drive: Some(request.drive),
            command: Some("setTarget".into()),
            state: Some("done".into()),
            since_us: None,
            until_us: Some(to_us),
            limit: MAX_TARGETS,
        })?;
        // Oldest first, each from when its bytes went out.
        let mut targets: Vec<(i64, Target)> = jobs
            .iter()
            .filter_map(|j| match serde_json::from_str::<Command>(&j.detail) {
                Ok(Command::SetTarget { target, .. }) => {
                    Some((j.sent_us.unwrap_or(j.queued_us), target))
                }
                _ => None,
            })
            .collect();
        targets.sort_by_key(|(t, _)| *t);
        let velocity = targets
            .last()
            .is_some_and(|(_, t)| matches!(t, Target::Velocity(_)));
        let value = |t: &Target| match (t, velocity) {
            (Target::Position(p), false) => Some(*p),
            (Target::Velocity(v), true) => Some(*v),
            _ => None,
        };
        // The target in force at the range's start, then those given in it.
        let before = targets
            .iter()
            .filter(|(t, _)| *t <= from_us)
            .filter_map(|(_, target)| value(target))
            .next_back();
        let mut points: Vec<(f64, f64)> = before.map(|v| (0.0, v)).into_iter().collect();
        points.extend(
            targets
                .iter()
                .filter(|(t, _)| *t > from_us)
                .filter_map(|(t, target)| Some(((t - from_us) as f64 / 1e6, value(target)?))),
        );
        let name = if velocity { "velocity" } else { "position" };
        let channel = reader
            .channels(request.session)?
            .into_iter()
            .find(|c| c.drive == request.drive && c.name == name)
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "drive {} recorded no {name} in session {}",
                    request.drive.id, request.session
                ))
            })?;
        let samples: Vec<(i64, f64)> = reader
            .channel_samples(channel.id)?
            .into_iter()
            .filter(|(t, _)| *t >= from_us && *t <= to_us)
            .collect();
        let t_s: Vec<f64> = samples
            .iter()
            .map(|(t, _)| (t - from_us) as f64 / 1e6)
            .collect();
        let response: Vec<f64> = samples.iter().map(|(_, v)| *v).collect();
        // Without a target in force at the start, the shaft's own place stands for it.
        if before.is_none()
            && let Some(first) = response.first()
        {
            points.insert(0, (0.0, if velocity { 0.0 } else { *first }));
        }
        estimate(&points, &t_s, &response, name).map_err(|reason| {
            ApiError::Invalid(format!(
                "drive {} in session {}, {:.1}–{:.1} s: {reason}",
                request.drive.id, request.session, request.from_s, request.to_s
            ))
        })
    }
}
