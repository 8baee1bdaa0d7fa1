//! Drive parameters: a connected drive's control table with the values last read, its
//! parameter snapshots (any session), the difference between two snapshots, and a
//! backup written as JSON.

use super::{Api, ApiError, create_exports_dir, safe_name, write_export};
use drivedeck_domain::DriveRef;
use serde::Serialize;
use std::collections::BTreeMap;
use ts_rs::TS;

/// One register of a drive's control table, with its last known value. Values, limits
/// and `scale` are in `unit` (SI, the profile's scale applied).
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ParamRegisterView {
    name: String,
    address: u16,
    /// Bytes (a Modbus register holds 2).
    size: u32,
    /// `u8`, `i16`, …
    #[serde(rename = "type")]
    ty: String,
    /// Empty for plain numbers.
    unit: String,
    /// `unit` per raw count.
    scale: f64,
    /// Smallest value that may be written, in `unit`.
    min: f64,
    /// Largest value that may be written, in `unit`.
    max: f64,
    /// `r` (read only) or `rw`.
    access: String,
    /// Kept across a power cycle.
    persistent: bool,
    description: Option<String>,
    /// The last value read in the current session, if any.
    #[ts(type = "number | null")]
    raw: Option<i64>,
    value: Option<f64>,
}

/// A drive's control table with the values last read in the current session.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ParamTable {
    drive: DriveRef,
    model: String,
    #[ts(type = "number")]
    session: i64,
    registers: Vec<ParamRegisterView>,
}

/// A parameter snapshot of a drive.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotView {
    #[ts(type = "number")]
    id: i64,
    #[ts(type = "number | null")]
    session: Option<i64>,
    drive: DriveRef,
    model: String,
    /// `read`, `before-write`, `after-write`, `backup`, `restore`.
    kind: String,
    #[ts(type = "number | null")]
    job: Option<i64>,
    label: String,
    at_ms: f64,
}

impl From<drivedeck_store::SnapshotRow> for SnapshotView {
    fn from(row: drivedeck_store::SnapshotRow) -> SnapshotView {
        SnapshotView {
            id: row.id,
            session: row.session,
            drive: row.drive,
            model: row.model,
            kind: row.kind,
            job: row.job,
            label: row.label,
            at_ms: row.at_us as f64 / 1000.0,
        }
    }
}

/// A register whose value differs between two snapshots (values in `unit`).
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ParamDiffView {
    register: String,
    unit: String,
    left: Option<f64>,
    right: Option<f64>,
}

/// A backup written to a file.
#[derive(Clone, Debug, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ParamExport {
    /// Where it was written.
    path: String,
    /// The file's JSON text.
    text: String,
}

/// What a backup file holds: values in SI, by register name.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackupFile<'a> {
    model: &'a str,
    drive: DriveRef,
    label: &'a str,
    taken_at_ms: f64,
    units: BTreeMap<&'a str, &'a str>,
    values: BTreeMap<&'a str, f64>,
}

impl Api {
    /// The control table of a connected drive, with the values last read in the
    /// current session.
    pub fn params(&self, drive: DriveRef) -> Result<ParamTable, ApiError> {
        let profile = self.engine.drive_profile(drive).ok_or_else(|| {
            ApiError::NotFound(format!(
                "no connected drive {} on link {}",
                drive.id, drive.link
            ))
        })?;
        let session = self.engine.session();
        let known = self.reader().session_params(session, drive)?;
        let registers = profile
            .registers
            .iter()
            .map(|r| {
                let limits = r.limits();
                let (a, b) = (r.to_si(*limits.start()), r.to_si(*limits.end()));
                let last = known.get(&r.name);
                ParamRegisterView {
                    name: r.name.clone(),
                    address: r.address,
                    size: r.size() as u32,
                    ty: r.ty.name().into(),
                    unit: r.unit.clone().unwrap_or_default(),
                    scale: r.scale,
                    min: a.min(b),
                    max: a.max(b),
                    access: if r.access.is_writable() { "rw" } else { "r" }.into(),
                    persistent: r.persistent,
                    description: r.description.clone(),
                    raw: last.map(|v| v.0),
                    value: last.map(|v| v.1),
                }
            })
            .collect();
        Ok(ParamTable {
            drive,
            model: profile.name.clone(),
            session,
            registers,
        })
    }

    /// The drive's parameter snapshots (any session), newest first.
    pub fn param_snapshots(&self, drive: DriveRef) -> Result<Vec<SnapshotView>, ApiError> {
        Ok(self
            .reader()
            .snapshots(None, Some(drive))?
            .into_iter()
            .map(SnapshotView::from)
            .collect())
    }

    /// The registers whose values differ between two snapshots.
    pub fn param_diff(&self, left: i64, right: i64) -> Result<Vec<ParamDiffView>, ApiError> {
        Ok(self
            .reader()
            .diff_snapshots(left, right)?
            .into_iter()
            .map(|d| ParamDiffView {
                register: d.register,
                unit: d.unit,
                left: d.left.map(|v| v.1),
                right: d.right.map(|v| v.1),
            })
            .collect())
    }

    /// Writes snapshot `snapshot` (a backup) as JSON into the `exports` folder beside
    /// the database; returns the path and the text.
    pub fn param_export(&self, snapshot: i64) -> Result<ParamExport, ApiError> {
        let reader = self.reader();
        let values = reader.snapshot_values(snapshot)?;
        let row = reader
            .snapshots(None, None)?
            .into_iter()
            .find(|s| s.id == snapshot)
            .ok_or_else(|| ApiError::NotFound(format!("snapshot {snapshot} not found")))?;
        let file = BackupFile {
            model: &row.model,
            drive: row.drive,
            label: &row.label,
            taken_at_ms: row.at_us as f64 / 1000.0,
            units: values
                .iter()
                .map(|(k, v)| (k.as_str(), v.2.as_str()))
                .collect(),
            values: values.iter().map(|(k, v)| (k.as_str(), v.1)).collect(),
        };
        let text = serde_json::to_string_pretty(&file)
            .map_err(|e| ApiError::File(format!("backup JSON: {e}")))?;
        let dir = self.exports_dir();
        create_exports_dir(&dir)?;
        let path = dir.join(format!(
            "{}_link{}-id{}_snapshot{snapshot}.json",
            safe_name(&row.model),
            row.drive.link,
            row.drive.id
        ));
        write_export(&path, text.as_bytes())?;
        Ok(ParamExport {
            path: path.display().to_string(),
            text,
        })
    }
}
