//! The IPC commands: each turns a webview call into one engine call and back.
//!
//! Commands that change a drive go through `submit`; everything else is a query
//! answered from the store. Chart data goes back as raw bytes (an `ArrayBuffer` in
//! the webview), never as JSON lists of numbers.

use crate::error::IpcError;
use crate::settings::{self, ChartSettings, LookSettings, Recent, RecentConnection, Settings};
use drivedeck_domain::{Command, DriveMode, DriveRef, SoftLimits, Target};
use drivedeck_engine::Engine;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, State};
use ts_rs::TS;

/// What the commands share: the engine and a read-only store connection.
pub struct AppState {
    /// The engine.
    pub engine: Arc<Engine>,
    /// A reader kept open between calls.
    pub reader: Mutex<drivedeck_store::Reader>,
}

impl AppState {
    fn reader(&self) -> std::sync::MutexGuard<'_, drivedeck_store::Reader> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The session being recorded.
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    #[ts(type = "number")]
    id: i64,
    name: String,
    #[ts(type = "number")]
    started_at_ms: i64,
}

/// A connected link.
#[derive(Serialize, TS)]
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
#[derive(Serialize, TS)]
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
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    session: Option<SessionView>,
    links: Vec<LinkView>,
    #[ts(type = "number")]
    committed_cursor: i64,
    /// Why the store stopped recording (disk full, file read-only…), if it did.
    store_failure: Option<String>,
}

/// A drive with its last status and readings.
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DriveView {
    drive: DriveRef,
    model: String,
    enabled: bool,
    mode: DriveMode,
    fault: Option<String>,
    target: Option<Target>,
    /// The range targets must fall in: the drive's own, narrowed by any soft limits.
    position_limits: (f64, f64),
    /// The speed targets and jogs must stay under (the soft limit, if lower).
    velocity_limit: f64,
    /// The user's soft limits (`None`s: not set).
    soft_limits: SoftLimits,
    position: Option<f64>,
    velocity: Option<f64>,
    current: Option<f64>,
    sample_age_ms: Option<f64>,
    /// False while the drive's link is lost: its real state is unknown.
    link_up: bool,
}

/// One job of the journal, with its timing: queued → sent → finished.
#[derive(Serialize, TS)]
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
#[derive(Deserialize, Default, TS)]
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
    fn filter(self) -> Result<drivedeck_store::JobFilter, IpcError> {
        if let Some(state) = &self.state
            && !JOB_STATES.contains(&state.as_str())
        {
            return Err(IpcError::new(
                "invalid",
                format!(
                    "unknown job state {state:?} (one of {})",
                    JOB_STATES.join(", ")
                ),
            ));
        }
        let micros = |ms: Option<f64>, what: &str| -> Result<Option<i64>, IpcError> {
            match ms {
                Some(ms) if !ms.is_finite() => Err(IpcError::new(
                    "invalid",
                    format!("the journal's {what} time is not a number"),
                )),
                Some(ms) => Ok(Some((ms * 1000.0).round() as i64)),
                None => Ok(None),
            }
        };
        let limit = self.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(IpcError::new(
                "invalid",
                format!("journal limit {limit} is outside 1–1000"),
            ));
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

/// A recorded channel.
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChannelView {
    #[ts(type = "number")]
    id: i64,
    drive: DriveRef,
    name: String,
    unit: String,
    #[ts(type = "number")]
    samples: i64,
}

/// A drive a session used.
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SessionDriveView {
    drive: DriveRef,
    model: String,
    port: String,
    protocol: String,
}

/// A session, for the browser.
#[derive(Serialize, TS)]
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
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FaultView {
    drive: DriveRef,
    text: String,
    raised_s: f64,
    cleared_s: Option<f64>,
}

/// The most samples one `tail` call returns (a frame's worth is far less).
const TAIL_LIMIT: usize = 50_000;
/// How far back a chart opening on a running session starts.
const TAIL_START_US: i64 = 60_000_000;

#[tauri::command]
pub async fn app_status(state: State<'_, AppState>) -> Result<AppStatus, IpcError> {
    let engine = &state.engine;
    let session = state.reader().session(engine.session())?;
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

#[tauri::command]
pub async fn drives(state: State<'_, AppState>) -> Result<Vec<DriveView>, IpcError> {
    let now = state.engine.clock().now();
    let rows = state.reader().drives(state.engine.session())?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            let status = row.status?;
            let (position_limits, velocity_limit) = (
                status.effective_position_limits(),
                status.effective_velocity_limit(),
            );
            Some(DriveView {
                drive: row.drive,
                model: status.model,
                enabled: status.enabled,
                mode: status.mode,
                fault: status.fault,
                target: status.target,
                position_limits,
                velocity_limit,
                soft_limits: status.soft_limits,
                position: row.position,
                velocity: row.velocity,
                current: row.current,
                sample_age_ms: row.sample_us.map(|t| (now - t) as f64 / 1000.0),
                link_up: state.engine.link_up(row.drive.link),
            })
        })
        .collect())
}

#[tauri::command]
pub async fn submit(state: State<'_, AppState>, command: Command) -> Result<u64, IpcError> {
    let job = state.engine.submit(command)?;
    Ok(job.id.0)
}

/// The machine's serial ports with their USB identities.
#[tauri::command]
pub async fn ports() -> Result<Vec<drivedeck_engine::PortInfo>, IpcError> {
    Ok(drivedeck_engine::ports()?)
}

/// Finds the drives on `port`: `protocols` (names; empty: all) at `bauds` (empty: each
/// protocol's usual rates).
#[tauri::command]
pub async fn scan(
    state: State<'_, AppState>,
    port: String,
    protocols: Vec<String>,
    bauds: Vec<u32>,
) -> Result<drivedeck_engine::ScanReport, IpcError> {
    let protocols = protocols
        .iter()
        .map(|name| {
            drivedeck_engine::protocol_from_name(name)
                .ok_or_else(|| IpcError::new("invalid", format!("unknown protocol {name:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(state.engine.scan(&port, &protocols, &bauds).await?)
}

/// A drive model the app knows.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    name: String,
    vendor: String,
    protocol: String,
}

/// Every drive model: the user's profiles folder first, then the built-in ones.
#[tauri::command]
pub async fn profiles(state: State<'_, AppState>) -> Result<Vec<ProfileView>, IpcError> {
    Ok(state
        .engine
        .profiles()
        .into_iter()
        .map(|p| ProfileView {
            protocol: drivedeck_engine::protocol_name(p.protocol).into(),
            name: p.name,
            vendor: p.vendor,
        })
        .collect())
}

/// Drive IDs from the UI: 1..=253, at least one, none twice.
fn check_ids(ids: &[u8]) -> Result<(), IpcError> {
    if ids.is_empty() {
        return Err(IpcError::new("invalid", "give at least one drive ID"));
    }
    if let Some(bad) = ids.iter().find(|id| !(1..=253).contains(*id)) {
        return Err(IpcError::new(
            "invalid",
            format!("drive ID {bad} is outside 1..=253"),
        ));
    }
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[0] == w[1]) {
        return Err(IpcError::new("invalid", "a drive ID is listed twice"));
    }
    Ok(())
}

/// Adds a connection just made to the recent ones (a failure to save is logged: the
/// connection stands).
fn remember(app: &AppHandle, connection: RecentConnection) {
    if let Err(e) = settings::remember(app, connection) {
        log::warn!("could not remember the connection: {e}");
    }
}

/// Connects drives `ids` on a serial port. `model` names a profile (from `profiles`);
/// without it the protocol's built-in model is used. Returns the new link's ID. The
/// connection joins the recent ones.
#[tauri::command]
pub async fn connect_serial(
    app: AppHandle,
    state: State<'_, AppState>,
    port: String,
    protocol: String,
    baud: u32,
    ids: Vec<u8>,
    model: Option<String>,
) -> Result<u32, IpcError> {
    let protocol = drivedeck_engine::protocol_from_name(&protocol)
        .ok_or_else(|| IpcError::new("invalid", format!("unknown protocol {protocol:?}")))?;
    if port.trim().is_empty() {
        return Err(IpcError::new("invalid", "give a serial port"));
    }
    if !(300..=20_000_000).contains(&baud) {
        return Err(IpcError::new(
            "invalid",
            format!("{baud} baud is outside 300..=20000000"),
        ));
    }
    check_ids(&ids)?;
    let profile = match &model {
        Some(name) => state.engine.profile_named(name)?,
        None => drivedeck_engine::builtin_profile(protocol)?,
    };
    let link = state
        .engine
        .connect_serial(port.trim(), protocol, baud, profile, &ids)
        .await?;
    remember(
        &app,
        RecentConnection::Serial {
            port: port.trim().to_string(),
            protocol: drivedeck_engine::protocol_name(protocol).into(),
            baud,
            ids,
            model,
        },
    );
    Ok(link)
}

/// Starts another simulated rig (`protocol`'s built-in model, drives `ids`) and
/// connects to it through its pty. Returns the new link's ID. The rig joins the recent
/// connections.
#[tauri::command]
pub async fn connect_sim(
    app: AppHandle,
    state: State<'_, AppState>,
    protocol: String,
    ids: Vec<u8>,
) -> Result<u32, IpcError> {
    let protocol = drivedeck_engine::protocol_from_name(&protocol)
        .ok_or_else(|| IpcError::new("invalid", format!("unknown protocol {protocol:?}")))?;
    check_ids(&ids)?;
    let link = state.engine.connect_sim_rig(protocol, &ids).await?;
    remember(
        &app,
        RecentConnection::Sim {
            protocol: drivedeck_engine::protocol_name(protocol).into(),
            ids,
        },
    );
    Ok(link)
}

/// The connections made from the Connect panel, most recent first (at most
/// [`settings::MAX_RECENT`]).
#[tauri::command]
pub async fn recent_connections(app: AppHandle) -> Result<Vec<Recent>, IpcError> {
    Ok(settings::recent(&app))
}

/// Forgets one recent connection; returns the list left.
#[tauri::command]
pub async fn recent_forget(
    app: AppHandle,
    connection: RecentConnection,
) -> Result<Vec<Recent>, IpcError> {
    settings::forget(&app, connection).map_err(|e| IpcError::new("settings", e))
}

/// Closes a link. Its drives are left as they are (stop them first).
#[tauri::command]
pub async fn disconnect(state: State<'_, AppState>, link: u32) -> Result<(), IpcError> {
    if state.engine.disconnect(link).await {
        Ok(())
    } else {
        Err(IpcError::new("notFound", format!("no link {link}")))
    }
}

/// The UI is alive; without these the supervisor stops enabled drives.
#[tauri::command]
pub async fn heartbeat(state: State<'_, AppState>) -> Result<(), IpcError> {
    state.engine.heartbeat();
    Ok(())
}

/// The job journal, filtered (see [`JobQuery`]), newest first.
#[tauri::command]
pub async fn jobs(state: State<'_, AppState>, query: JobQuery) -> Result<Vec<JobView>, IpcError> {
    let rows = state.reader().jobs(&query.filter()?)?;
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

fn summary(
    state: &AppState,
    reader: &drivedeck_store::Reader,
    row: drivedeck_store::SessionRow,
) -> Result<SessionSummary, IpcError> {
    let recording = row.id == state.engine.session();
    let end = match (row.stopped_us, recording) {
        (Some(stopped), _) => stopped,
        (None, true) => state.engine.clock().now(),
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

/// The most sessions the browser lists.
const SESSION_LIST_LIMIT: usize = 500;

/// Sessions, newest first; with `search`, those whose name or notes contain it.
#[tauri::command]
pub async fn sessions(
    state: State<'_, AppState>,
    search: Option<String>,
) -> Result<Vec<SessionSummary>, IpcError> {
    let reader = state.reader();
    let search = search.as_deref().map(str::trim).filter(|s| !s.is_empty());
    reader
        .sessions(search)?
        .into_iter()
        .take(SESSION_LIST_LIMIT)
        .map(|row| summary(&state, &reader, row))
        .collect()
}

/// Session `id` as the UI shows it.
fn session_summary(state: &AppState, id: i64) -> Result<SessionSummary, IpcError> {
    let reader = state.reader();
    let row = reader.session(id)?;
    summary(state, &reader, row)
}

/// One session.
#[tauri::command]
pub async fn session(state: State<'_, AppState>, id: i64) -> Result<SessionSummary, IpcError> {
    session_summary(&state, id)
}

/// Starts recording a named session (the current one stops); returns it.
#[tauri::command]
pub async fn session_start(
    state: State<'_, AppState>,
    name: String,
    notes: String,
) -> Result<SessionSummary, IpcError> {
    let id = state.engine.start_session(&name, &notes)?;
    session_summary(&state, id)
}

/// Stops the current recording. Recording never stops: an automatic "Live …" session
/// takes over, and is returned.
#[tauri::command]
pub async fn session_stop(state: State<'_, AppState>) -> Result<SessionSummary, IpcError> {
    let id = state.engine.stop_session()?;
    session_summary(&state, id)
}

/// Renames a session (when `name` is given) and sets its notes.
#[tauri::command]
pub async fn session_set_notes(
    state: State<'_, AppState>,
    session: i64,
    name: Option<String>,
    notes: String,
) -> Result<SessionSummary, IpcError> {
    state
        .engine
        .set_session_notes(session, name.as_deref(), &notes)?;
    session_summary(&state, session)
}

/// The faults raised in a session (for the "on fault" trigger and the replay).
#[tauri::command]
pub async fn faults(state: State<'_, AppState>, session: i64) -> Result<Vec<FaultView>, IpcError> {
    let reader = state.reader();
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

#[tauri::command]
pub async fn channels(
    state: State<'_, AppState>,
    session: i64,
) -> Result<Vec<ChannelView>, IpcError> {
    let rows = state.reader().channels(session)?;
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

/// New samples of `channels` for the live chart, as binary (see the store's `tail`
/// module). `after` holds the cursor per channel from the last batch; a channel not in
/// it starts at `since_s` (seconds since the session started) or, without it, a minute
/// back.
#[tauri::command]
pub async fn tail(
    state: State<'_, AppState>,
    session: i64,
    after: Vec<(i64, u64)>,
    channels: Vec<i64>,
    since_s: Option<f64>,
) -> Result<tauri::ipc::Response, IpcError> {
    let cursor: drivedeck_store::TailCursor = after.into_iter().collect();
    let reader = state.reader();
    let since = match since_s {
        Some(s) if !s.is_finite() => {
            return Err(IpcError::new("invalid", "tail start is not a number"));
        }
        Some(s) => reader.session(session)?.started_us + (s.max(0.0) * 1e6) as i64,
        None => state.engine.clock().now() - TAIL_START_US,
    };
    let batch = reader.tail(session, &channels, &cursor, Some(since), TAIL_LIMIT)?;
    Ok(tauri::ipc::Response::new(batch.to_bytes()))
}

/// A zoomed or past range of `channels`, decimated for a chart `width_px` wide, as
/// binary (the same layout as `tail`).
#[tauri::command]
pub async fn window(
    state: State<'_, AppState>,
    session: i64,
    channels: Vec<i64>,
    from_s: f64,
    to_s: f64,
    width_px: u32,
) -> Result<tauri::ipc::Response, IpcError> {
    let batch = state
        .reader()
        .window(session, &channels, from_s, to_s, width_px)?;
    Ok(tauri::ipc::Response::new(batch.to_bytes()))
}

/// Exports `[from_s, to_s]` of `channels` (the chart's visible range) as CSV, PNG or
/// SVG into the `exports` folder beside the database; returns the file written.
#[tauri::command]
pub async fn export_range(
    state: State<'_, AppState>,
    session: i64,
    channels: Vec<i64>,
    from_s: f64,
    to_s: f64,
    format: String,
) -> Result<String, IpcError> {
    use drivedeck_store::export::{ChartFormat, ExportRange, write_chart, write_csv};
    let chart = match format.as_str() {
        "csv" => None,
        "png" => Some(ChartFormat::Png),
        "svg" => Some(ChartFormat::Svg),
        other => {
            return Err(IpcError::new(
                "invalid",
                format!("unknown export format {other:?} (csv, png or svg)"),
            ));
        }
    };
    if !(from_s.is_finite() && to_s.is_finite() && from_s < to_s) {
        return Err(IpcError::new(
            "invalid",
            format!("the range [{from_s}, {to_s}] s is empty"),
        ));
    }
    let reader = state.reader();
    let row = reader.session(session)?;
    let dir = exports_dir(&state);
    std::fs::create_dir_all(&dir)
        .map_err(|e| IpcError::new("store", format!("{}: {e}", dir.display())))?;
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
            std::fs::write(&path, out)
                .map_err(|e| IpcError::new("store", format!("{}: {e}", path.display())))?;
        }
        Some(format) => write_chart(&reader, &range, format, &path, (1600, 900))?,
    }
    Ok(path.display().to_string())
}

#[tauri::command]
pub async fn settings_get(app: AppHandle) -> Result<Settings, IpcError> {
    Ok(Settings {
        chart: settings::chart(&app),
        look: settings::look(&app),
    })
}

/// Saves the theme and panel sizes.
#[tauri::command]
pub async fn settings_set_look(app: AppHandle, look: LookSettings) -> Result<(), IpcError> {
    settings::set_look(&app, &look).map_err(|e| IpcError::new("settings", e))
}

#[tauri::command]
pub async fn settings_set_chart(app: AppHandle, chart: ChartSettings) -> Result<(), IpcError> {
    settings::set_chart(&app, &chart).map_err(|e| IpcError::new("settings", e))
}

/// One register of a drive's control table, with its last known value. Values, limits
/// and `scale` are in `unit` (SI, the profile's scale applied).
#[derive(Serialize, TS)]
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
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ParamTable {
    drive: DriveRef,
    model: String,
    #[ts(type = "number")]
    session: i64,
    registers: Vec<ParamRegisterView>,
}

/// A parameter snapshot of a drive.
#[derive(Serialize, TS)]
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

/// A register whose value differs between two snapshots (values in `unit`).
#[derive(Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ParamDiffView {
    register: String,
    unit: String,
    left: Option<f64>,
    right: Option<f64>,
}

/// A backup written to a file.
#[derive(Serialize, TS)]
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
    units: std::collections::BTreeMap<&'a str, &'a str>,
    values: std::collections::BTreeMap<&'a str, f64>,
}

/// The control table of a connected drive, with the values last read in the current
/// session.
#[tauri::command]
pub async fn params(state: State<'_, AppState>, drive: DriveRef) -> Result<ParamTable, IpcError> {
    let profile = state.engine.drive_profile(drive).ok_or_else(|| {
        IpcError::new(
            "notFound",
            format!("no connected drive {} on link {}", drive.id, drive.link),
        )
    })?;
    let session = state.engine.session();
    let known = state.reader().session_params(session, drive)?;
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

fn snapshot_view(row: drivedeck_store::SnapshotRow) -> SnapshotView {
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

/// The drive's parameter snapshots (any session), newest first.
#[tauri::command]
pub async fn param_snapshots(
    state: State<'_, AppState>,
    drive: DriveRef,
) -> Result<Vec<SnapshotView>, IpcError> {
    Ok(state
        .reader()
        .snapshots(None, Some(drive))?
        .into_iter()
        .map(snapshot_view)
        .collect())
}

/// The registers whose values differ between two snapshots.
#[tauri::command]
pub async fn param_diff(
    state: State<'_, AppState>,
    left: i64,
    right: i64,
) -> Result<Vec<ParamDiffView>, IpcError> {
    Ok(state
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

/// Writes snapshot `snapshot` (a backup) as JSON into the `exports` folder beside the
/// database; returns the path and the text.
#[tauri::command]
pub async fn param_export(
    state: State<'_, AppState>,
    snapshot: i64,
) -> Result<ParamExport, IpcError> {
    let reader = state.reader();
    let values = reader.snapshot_values(snapshot)?;
    let row = reader
        .snapshots(None, None)?
        .into_iter()
        .find(|s| s.id == snapshot)
        .ok_or_else(|| IpcError::new("notFound", format!("snapshot {snapshot} not found")))?;
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
        .map_err(|e| IpcError::new("store", format!("backup JSON: {e}")))?;
    let dir = exports_dir(&state);
    std::fs::create_dir_all(&dir)
        .map_err(|e| IpcError::new("store", format!("{}: {e}", dir.display())))?;
    let path = dir.join(format!(
        "{}_link{}-id{}_snapshot{snapshot}.json",
        safe_name(&row.model),
        row.drive.link,
        row.drive.id
    ));
    std::fs::write(&path, &text)
        .map_err(|e| IpcError::new("store", format!("{}: {e}", path.display())))?;
    Ok(ParamExport {
        path: path.display().to_string(),
        text,
    })
}

/// The `exports` folder beside the database.
fn exports_dir(state: &AppState) -> std::path::PathBuf {
    state
        .engine
        .db_path()
        .parent()
        .map(|p| p.join("exports"))
        .unwrap_or_else(|| "exports".into())
}

/// `name` with everything but letters, digits and `-` replaced by `_` (a file name).
fn safe_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
