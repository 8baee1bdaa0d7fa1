//! Chart data: a session's recorded channels, the live tail, zoomed or past windows
//! (decimated for the chart's width) and exports of a range as CSV, PNG or SVG.
//!
//! Samples come back as the store's binary batch layout (see the store's `tail`
//! module), never as lists of numbers: a client hands the bytes to its chart as they
//! are.

use super::{Api, ApiError, create_exports_dir, safe_name, write_export};
use drivedeck_domain::DriveRef;
use drivedeck_store::SessionId;
use drivedeck_store::export::{ChartFormat, ExportRange, write_chart, write_csv};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use ts_rs::TS;

/// A recorded channel.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    /// Its ID (what sample batches name).
    #[ts(type = "number")]
    pub id: i64,
    /// The drive it belongs to.
    pub drive: DriveRef,
    /// `position`, `velocity`, `current`, or a run's `reference`, `output`, `drive_time`.
    pub name: String,
    /// SI unit.
    pub unit: String,
    /// Samples recorded.
    #[ts(type = "number")]
    pub samples: i64,
}

/// A range of a session's channels to write to a file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRequest {
    /// The session.
    pub session: SessionId,
    /// Its channels to export.
    pub channels: Vec<i64>,
    /// From, s since the session started.
    pub from_s: f64,
    /// To, s since the session started (after `from_s`).
    pub to_s: f64,
    /// `csv`, `png` or `svg`.
    pub format: String,
}

/// The most samples one `tail` call returns (a frame's worth is far less).
const TAIL_LIMIT: usize = 50_000;
/// How far back a chart opening on a running session starts.
const TAIL_START_US: i64 = 60_000_000;
/// The size of an exported chart image, px.
const CHART_SIZE_PX: (u32, u32) = (1600, 900);

impl Api {
    /// The channels recorded in `session`.
    pub fn channels(&self, session: SessionId) -> Result<Vec<ChannelView>, ApiError> {
        let rows = self.reader().channels(session)?;
        Ok(rows
            .into_iter()
            .map(|c| ChannelView {
                id: c.id,
                drive: c.drive,
                name: c.name,
                unit: c.unit,
                samples: c.samples,
            })
            .collect())
    }

    /// New samples of `channels` for the live chart, as the store's binary batch.
    /// `after` holds the cursor per channel from the last batch; a channel not in it
    /// starts at `since_s` (seconds since the session started) or, without it, a minute
    /// back.
    pub fn tail(
        &self,
        session: SessionId,
        after: Vec<(i64, u64)>,
        channels: &[i64],
        since_s: Option<f64>,
    ) -> Result<Vec<u8>, ApiError> {
        let cursor: drivedeck_store::TailCursor = after.into_iter().collect();
        let reader = self.reader();
        let since = match since_s {
            Some(s) if !s.is_finite() => {
                return Err(ApiError::Invalid("tail start is not a number".into()));
            }
            Some(s) => reader.session(session)?.started_us + (s.max(0.0) * 1e6) as i64,
            None => self.engine.clock().now() - TAIL_START_US,
        };
        let batch = reader.tail(session, channels, &cursor, Some(since), TAIL_LIMIT)?;
        Ok(batch.to_bytes())
    }

    /// A zoomed or past range of `channels`, decimated for a chart `width_px` wide, as
    /// the store's binary batch (the same layout as [`Api::tail`]).
    pub fn window(
        &self,
        session: SessionId,
        channels: &[i64],
        from_s: f64,
        to_s: f64,
        width_px: u32,
    ) -> Result<Vec<u8>, ApiError> {
        let batch = self
            .reader()
            .window(session, channels, from_s, to_s, width_px)?;
        Ok(batch.to_bytes())
    }

    /// Exports a range of channels (a chart's visible range) as CSV, PNG or SVG into
    /// the `exports` folder beside the database; returns the file written.
    pub fn export_range(&self, request: ExportRequest) -> Result<PathBuf, ApiError> {
        let ExportRequest {
            session,
            channels,
            from_s,
            to_s,
            format,
        } = request;
        let chart = match format.as_str() {
            "csv" => None,
            "png" => Some(ChartFormat::Png),
            "svg" => Some(ChartFormat::Svg),
            other => {
                return Err(ApiError::Invalid(format!(
                    "unknown export format {other:?} (csv, png or svg)"
                )));
            }
        };
        if !(from_s.is_finite() && to_s.is_finite() && from_s < to_s) {
            return Err(ApiError::Invalid(format!(
                "the range [{from_s}, {to_s}] s is empty"
            )));
        }
        let reader = self.reader();
        let row = reader.session(session)?;
        let dir = self.exports_dir();
        create_exports_dir(&dir)?;
        let safe = safe_name(&row.name);
        let path = dir.join(format!("{safe}_{from_s:.3}-{to_s:.3}s.{format}"));
        let range = ExportRange {
            session,
            channels,
            from_s: Some(from_s),
            to_s: Some(to_s),
        };
        match chart {
            None => {
                let mut out = Vec::new();
                write_csv(&reader, &range, &mut out)?;
                write_export(&path, &out)?;
            }
            Some(format) => write_chart(&reader, &range, format, &path, CHART_SIZE_PX)?,
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind;
    use super::super::test_rig::{DRIVE_1, sim_api, wait_until};
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn charts_read_the_tail_and_windows_and_export_a_range() {
        let dir = tempfile::tempdir().expect("dir");
        let (api, _rig) = sim_api(&dir).await;
        let session = api.engine().session();
        let position = || {
            api.channels(session)
                .expect("channels")
                .into_iter()
                .find(|c| c.drive == DRIVE_1 && c.name == "position" && c.samples > 20)
        };
        wait_until(&api, "position samples recorded", || position().is_some()).await;
        let channel = position().expect("position");
        assert_eq!(channel.unit, "rad");

        let tail = api
            .tail(session, vec![], &[channel.id], None)
            .expect("tail");
        assert!(tail.len() > 20 * 8, "{} bytes", tail.len());
        let error = api
            .tail(session, vec![], &[channel.id], Some(f64::NAN))
            .expect_err("not a time");
        assert_eq!(error.kind(), ErrorKind::Invalid, "{error}");
        let window = api
            .window(session, &[channel.id], 0.0, 60.0, 200)
            .expect("window");
        assert!(!window.is_empty());
        let error = api
            .window(session, &[channel.id], 2.0, 1.0, 200)
            .expect_err("an empty window");
        assert_eq!(error.kind(), ErrorKind::Invalid, "{error}");

        let export = |format: &str, from_s: f64, to_s: f64| {
            api.export_range(ExportRequest {
                session,
                channels: vec![channel.id],
                from_s,
                to_s,
                format: format.into(),
            })
        };
        let exports = dir.path().join("exports");
        for (format, from_s, to_s, reason) in [
            ("xls", 0.0, 60.0, "unknown export format \"xls\""),
            ("csv", 1.0, 1.0, "is empty"),
            ("csv", f64::NAN, 1.0, "is empty"),
        ] {
            let error = export(format, from_s, to_s).expect_err("refused");
            assert_eq!(error.kind(), ErrorKind::Invalid, "{error}");
            assert!(error.to_string().contains(reason), "{error}");
        }
        assert!(!exports.exists(), "nothing written for a refused export");
        let csv = export("csv", 0.0, 60.0).expect("exported");
        assert_eq!(csv.parent(), Some(exports.as_path()));
        let name = csv
            .file_name()
            .expect("a file")
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with("Live_") && name.ends_with("_0.000-60.000s.csv"),
            "{name}"
        );
        let text = std::fs::read_to_string(&csv).expect("written");
        assert!(text.lines().count() > 20, "{text}");
        let svg = export("svg", 0.0, 60.0).expect("exported");
        assert!(
            std::fs::read_to_string(svg)
                .expect("written")
                .contains("<svg")
        );
        api.engine().shutdown().await;
    }
}
