//! Chart data: a session's recorded channels, the live tail, zoomed or past windows
//! (decimated for the chart's width) and exports of a range as CSV, PNG or SVG.
//!
//! Samples come back as the store's binary batch layout (see the store's `tail`
//! module), never as lists of numbers: a client hands the bytes to its chart as they
//! are.

use super::{Api, ApiError, create_exports_dir, safe_name, write_export};
use drivedeck_domain::DriveRef;
use drivedeck_store::SessionId;
use drivedeck_store::export::{ChartFormat, ColumnUnit, ExportRange, write_chart, write_csv_in};
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

/// How a CSV export writes the channels stored in one SI unit: in `unit`, each value
/// times `per_si` (the user's unit system: degrees and rpm, turns and rps…).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExportUnit {
    /// The stored unit it applies to: `rad` or `rad/s`.
    pub si_unit: String,
    /// The unit written, as the header names it (`°`, `rpm`…).
    pub unit: String,
    /// Written value per SI value (finite, above 0).
    pub per_si: f64,
}

/// The SI units a CSV export can convert.
const CONVERTIBLE: [&str; 2] = ["rad", "rad/s"];

/// Checks `units` (each convertible unit at most once, a short printable name, a factor
/// that is a finite positive number) and makes them the store's.
fn column_units(units: &[ExportUnit]) -> Result<Vec<ColumnUnit>, ApiError> {
    let mut out: Vec<ColumnUnit> = Vec::with_capacity(units.len());
    for u in units {
        if !CONVERTIBLE.contains(&u.si_unit.as_str()) {
            return Err(ApiError::Invalid(format!(
                "an export converts rad and rad/s, not {:?}",
                u.si_unit
            )));
        }
        if out.iter().any(|o| o.si_unit == u.si_unit) {
            return Err(ApiError::Invalid(format!(
                "{} is converted twice",
                u.si_unit
            )));
        }
        let name = u.unit.trim();
        if name.is_empty() || name.chars().count() > 16 || name.chars().any(char::is_control) {
            return Err(ApiError::Invalid(format!(
                "{:?} is not a unit name (1–16 printable characters)",
                u.unit
            )));
        }
        if !(u.per_si.is_finite() && u.per_si > 0.0) {
            return Err(ApiError::Invalid(format!(
                "{} per {} must be a number above 0, not {}",
                name, u.si_unit, u.per_si
            )));
        }
        out.push(ColumnUnit {
            si_unit: u.si_unit.clone(),
            unit: name.to_string(),
            per_si: u.per_si,
        });
    }
    Ok(out)
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
    /// The units a CSV is written in, per stored unit; none: SI as stored (charts are
    /// always SI).
    #[serde(default)]
    pub units: Vec<ExportUnit>,
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
            units,
        } = request;
        let units = column_units(&units)?;
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
                write_csv_in(&reader, &range, &units, &mut out)?;
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

        let export_in = |format: &str, from_s: f64, to_s: f64, units: Vec<ExportUnit>| {
            api.export_range(ExportRequest {
                session,
                channels: vec![channel.id],
                from_s,
                to_s,
                format: format.into(),
                units,
            })
        };
        let export = |format: &str, from_s: f64, to_s: f64| export_in(format, from_s, to_s, vec![]);
        let unit = |si: &str, name: &str, per_si: f64| ExportUnit {
            si_unit: si.into(),
            unit: name.into(),
            per_si,
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
        for (units, reason) in [
            (vec![unit("A", "mA", 1000.0)], "not \"A\""),
            (
                vec![unit("rad", "°", 57.3), unit("rad", "°", 57.3)],
                "converted twice",
            ),
            (vec![unit("rad", "", 57.3)], "is not a unit name"),
            (vec![unit("rad", "a\nb", 57.3)], "is not a unit name"),
            (vec![unit("rad", "°", f64::NAN)], "above 0"),
            (vec![unit("rad/s", "rpm", 0.0)], "above 0"),
        ] {
            let error = export_in("csv", 0.0, 60.0, units).expect_err("refused");
            assert_eq!(error.kind(), ErrorKind::Invalid, "{error}");
            assert!(error.to_string().contains(reason), "{reason}: {error}");
        }
        assert!(!exports.exists(), "nothing written for a refused export");
        // In degrees: the header says so and the values are the SI ones × 180/π.
        let si =
            std::fs::read_to_string(export("csv", 0.0, 60.0).expect("exported")).expect("written");
        let degrees = std::fs::read_to_string(
            export_in(
                "csv",
                0.0,
                60.0,
                vec![unit("rad", "°", 180.0 / std::f64::consts::PI)],
            )
            .expect("exported"),
        )
        .expect("written");
        assert!(
            degrees.starts_with("time_s,link1.drive1 position [°]\r\n"),
            "{degrees}"
        );
        let value = |text: &str| -> f64 {
            text.lines()
                .nth(1)
                .expect("a row")
                .split(',')
                .nth(1)
                .expect("a value")
                .parse()
                .expect("a number")
        };
        assert!(
            (value(&degrees) - value(&si).to_degrees()).abs()
                <= 1e-6 * value(&si).to_degrees().abs().max(1.0),
            "{} vs {}",
            value(&degrees),
            value(&si)
        );
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
