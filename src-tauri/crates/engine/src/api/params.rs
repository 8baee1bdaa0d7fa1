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

#[cfg(test)]
mod tests {
    use super::super::ErrorKind;
    use super::super::test_rig::{DRIVE_1, json, sim_api, wait_until};
    use super::*;
    use drivedeck_domain::{Command, JobState};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_grid_shows_the_table_and_a_backup_is_written_as_json() {
        let dir = tempfile::tempdir().expect("dir");
        let (api, _rig) = sim_api(&dir).await;
        let error = api
            .params(DriveRef { link: 1, id: 9 })
            .expect_err("not connected");
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
        assert!(
            error.to_string().contains("no connected drive 9 on link 1"),
            "{error}"
        );

        let table = api.params(DRIVE_1).expect("table");
        assert_eq!(
            (table.model.as_str(), table.session),
            ("XM430-W350", api.engine().session())
        );
        assert!(table.registers.len() > 10);
        assert!(table.registers.iter().all(|r| r.min <= r.max), "{table:?}");
        assert!(
            table.registers.iter().all(|r| r.value.is_none()),
            "nothing read yet"
        );
        let read = Command::ReadParams {
            drive: DRIVE_1,
            registers: vec![],
        };
        assert_eq!(api.engine().run(read).await.expect("read"), JobState::Done);
        wait_until(&api, "the values read shown", || {
            let table = api.params(DRIVE_1).expect("table");
            table
                .registers
                .iter()
                .all(|r| r.value.is_some() && r.raw.is_some())
        })
        .await;

        let backup = Command::BackupParams {
            drive: DRIVE_1,
            label: "before tuning".into(),
        };
        assert_eq!(
            api.engine().run(backup).await.expect("backup"),
            JobState::Done
        );
        let mut snapshot = None;
        wait_until(&api, "the backup listed", || {
            snapshot = api
                .param_snapshots(DRIVE_1)
                .expect("snapshots")
                .into_iter()
                .find(|s| s.kind == "backup");
            snapshot.is_some()
        })
        .await;
        let snapshot = snapshot.expect("a backup");
        assert_eq!(snapshot.label, "before tuning");
        assert!(
            api.param_diff(snapshot.id, snapshot.id)
                .expect("diff")
                .is_empty()
        );

        let export = api.param_export(snapshot.id).expect("exported");
        let path = std::path::Path::new(&export.path);
        assert_eq!(path.parent(), Some(dir.path().join("exports").as_path()));
        let name = format!("XM430-W350_link1-id1_snapshot{}.json", snapshot.id);
        assert!(export.path.ends_with(&name), "{}", export.path);
        assert_eq!(std::fs::read_to_string(path).expect("written"), export.text);
        let file: serde_json::Value = serde_json::from_str(&export.text).expect("JSON");
        assert_eq!(
            (&file["model"], &file["label"]),
            (&"XM430-W350".into(), &"before tuning".into())
        );
        assert_eq!(file["drive"], json(&DRIVE_1));
        let names = |key: &str| -> Vec<String> {
            file[key]
                .as_object()
                .expect("by register")
                .keys()
                .cloned()
                .collect()
        };
        assert!(!names("values").is_empty());
        assert_eq!(names("values"), names("units"));
        let error = api.param_export(99_999).expect_err("no such snapshot");
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
        api.engine().shutdown().await;
    }
}
