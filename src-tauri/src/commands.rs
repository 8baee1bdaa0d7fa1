//! The IPC command list: each command turns a webview call into one call of the
//! engine's transport-neutral API ([`drivedeck_engine::api`]) and maps its error.
//!
//! What is Tauri's stays here: chart data goes back as a raw `Response` (an
//! `ArrayBuffer` in the webview, never JSON lists of numbers), and the settings and
//! recent connections live in tauri-plugin-store (see `settings`).

use crate::error::IpcError;
use crate::settings::{self, ChartSettings, LookSettings, Recent, RecentConnection, Settings};
use drivedeck_domain::{Command, DriveRef};
use drivedeck_engine::api::{
    Api, AppStatus, ChannelView, DriveView, ExportRequest, ExportUnit, FaultView, JobQuery,
    JobView, ParamDiffView, ParamExport, ParamTable, ProfileView, SerialRequest, SessionSummary,
    SimRequest, SnapshotView,
};
use drivedeck_engine::{PortInfo, ScanReport};
use tauri::ipc::Response;
use tauri::{AppHandle, State};

#[tauri::command]
pub async fn app_status(api: State<'_, Api>) -> Result<AppStatus, IpcError> {
    Ok(api.app_status()?)
}

/// Why drives stopped since `since_ms`: the stop banner's notices.
#[tauri::command]
pub async fn stop_notices(
    api: State<'_, Api>,
    since_ms: f64,
) -> Result<Vec<drivedeck_engine::api::StopNotice>, IpcError> {
    Ok(api.stop_notices(since_ms)?)
}

#[tauri::command]
pub async fn drives(api: State<'_, Api>) -> Result<Vec<DriveView>, IpcError> {
    Ok(api.drives()?)
}

#[tauri::command]
pub async fn submit(api: State<'_, Api>, command: Command) -> Result<u64, IpcError> {
    Ok(api.submit(command)?)
}

/// The UI is alive; without these the supervisor stops enabled drives.
#[tauri::command]
pub async fn heartbeat(api: State<'_, Api>) -> Result<(), IpcError> {
    api.heartbeat();
    Ok(())
}

/// The machine's serial ports with their USB identities.
#[tauri::command]
pub async fn ports() -> Result<Vec<PortInfo>, IpcError> {
    Ok(drivedeck_engine::api::ports()?)
}

/// Finds the drives on `port`: `protocols` (names; empty: all) at `bauds` (empty: each
/// protocol's usual rates).
#[tauri::command]
pub async fn scan(
    api: State<'_, Api>,
    port: String,
    protocols: Vec<String>,
    bauds: Vec<u32>,
) -> Result<ScanReport, IpcError> {
    Ok(api.scan(&port, &protocols, &bauds).await?)
}

/// Every drive model: the user's profiles folder first, then the built-in ones.
#[tauri::command]
pub async fn profiles(api: State<'_, Api>) -> Result<Vec<ProfileView>, IpcError> {
    Ok(api.profiles())
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
    api: State<'_, Api>,
    port: String,
    protocol: String,
    baud: u32,
    ids: Vec<u8>,
    model: Option<String>,
) -> Result<u32, IpcError> {
    let request = SerialRequest {
        port,
        protocol,
        baud,
        ids,
        model,
    };
    let made = api.connect_serial(request).await?;
    let SerialRequest {
        port,
        protocol,
        baud,
        ids,
        model,
    } = made.request;
    let recent = RecentConnection::Serial {
        port,
        protocol,
        baud,
        ids,
        model,
    };
    remember(&app, recent);
    Ok(made.link)
}

/// Starts another simulated rig (`protocol`'s built-in model, drives `ids`) and
/// connects to it through its pty. Returns the new link's ID. The rig joins the recent
/// connections.
#[tauri::command]
pub async fn connect_sim(
    app: AppHandle,
    api: State<'_, Api>,
    protocol: String,
    ids: Vec<u8>,
) -> Result<u32, IpcError> {
    let made = api.connect_sim(SimRequest { protocol, ids }).await?;
    let SimRequest { protocol, ids } = made.request;
    remember(&app, RecentConnection::Sim { protocol, ids });
    Ok(made.link)
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
pub async fn disconnect(api: State<'_, Api>, link: u32) -> Result<(), IpcError> {
    Ok(api.disconnect(link).await?)
}

/// The job journal, filtered (see [`JobQuery`]), newest first.
#[tauri::command]
pub async fn jobs(api: State<'_, Api>, query: JobQuery) -> Result<Vec<JobView>, IpcError> {
    Ok(api.jobs(query)?)
}

/// Sessions, newest first; with `search`, those whose name or notes contain it.
#[tauri::command]
pub async fn sessions(
    api: State<'_, Api>,
    search: Option<String>,
) -> Result<Vec<SessionSummary>, IpcError> {
    Ok(api.sessions(search.as_deref())?)
}

/// One session.
#[tauri::command]
pub async fn session(api: State<'_, Api>, id: i64) -> Result<SessionSummary, IpcError> {
    Ok(api.session(id)?)
}

/// Starts recording a named session (the current one stops); returns it.
#[tauri::command]
pub async fn session_start(
    api: State<'_, Api>,
    name: String,
    notes: String,
) -> Result<SessionSummary, IpcError> {
    Ok(api.session_start(&name, &notes)?)
}

/// Stops the current recording. Recording never stops: an automatic "Live …" session
/// takes over, and is returned.
#[tauri::command]
pub async fn session_stop(api: State<'_, Api>) -> Result<SessionSummary, IpcError> {
    Ok(api.session_stop()?)
}

/// Renames a session (when `name` is given) and sets its notes.
#[tauri::command]
pub async fn session_set_notes(
    api: State<'_, Api>,
    session: i64,
    name: Option<String>,
    notes: String,
) -> Result<SessionSummary, IpcError> {
    Ok(api.session_set_notes(session, name.as_deref(), &notes)?)
}

/// The faults raised in a session (for the "on fault" trigger and the replay).
#[tauri::command]
pub async fn faults(api: State<'_, Api>, session: i64) -> Result<Vec<FaultView>, IpcError> {
    Ok(api.faults(session)?)
}

#[tauri::command]
pub async fn channels(api: State<'_, Api>, session: i64) -> Result<Vec<ChannelView>, IpcError> {
    Ok(api.channels(session)?)
}

/// New samples of `channels` for the live chart, as binary (see the store's `tail`
/// module). `after` holds the cursor per channel from the last batch; a channel not in
/// it starts at `since_s` (seconds since the session started) or, without it, a minute
/// back.
#[tauri::command]
pub async fn tail(
    api: State<'_, Api>,
    session: i64,
    after: Vec<(i64, u64)>,
    channels: Vec<i64>,
    since_s: Option<f64>,
) -> Result<Response, IpcError> {
    Ok(Response::new(api.tail(session, after, &channels, since_s)?))
}

/// A zoomed or past range of `channels`, decimated for a chart `width_px` wide, as
/// binary (the same layout as `tail`).
#[tauri::command]
pub async fn window(
    api: State<'_, Api>,
    session: i64,
    channels: Vec<i64>,
    from_s: f64,
    to_s: f64,
    width_px: u32,
) -> Result<Response, IpcError> {
    let bytes = api.window(session, &channels, from_s, to_s, width_px)?;
    Ok(Response::new(bytes))
}

/// Exports `[from_s, to_s]` of `channels` (the chart's visible range) as CSV, PNG or
/// SVG into the `exports` folder beside the database, a CSV in `units` (none: SI);
/// returns the file written.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn export_range(
    api: State<'_, Api>,
    session: i64,
    channels: Vec<i64>,
    from_s: f64,
    to_s: f64,
    format: String,
    units: Option<Vec<ExportUnit>>,
) -> Result<String, IpcError> {
    let request = ExportRequest {
        session,
        channels,
        from_s,
        to_s,
        format,
        units: units.unwrap_or_default(),
    };
    Ok(api.export_range(request)?.display().to_string())
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

/// The control table of a connected drive, with the values last read in the current
/// session.
#[tauri::command]
pub async fn params(api: State<'_, Api>, drive: DriveRef) -> Result<ParamTable, IpcError> {
    Ok(api.params(drive)?)
}

/// The drive's parameter snapshots (any session), newest first.
#[tauri::command]
pub async fn param_snapshots(
    api: State<'_, Api>,
    drive: DriveRef,
) -> Result<Vec<SnapshotView>, IpcError> {
    Ok(api.param_snapshots(drive)?)
}

/// The registers whose values differ between two snapshots.
#[tauri::command]
pub async fn param_diff(
    api: State<'_, Api>,
    left: i64,
    right: i64,
) -> Result<Vec<ParamDiffView>, IpcError> {
    Ok(api.param_diff(left, right)?)
}

/// Writes snapshot `snapshot` (a backup) as JSON into the `exports` folder beside the
/// database; returns the path and the text.
#[tauri::command]
pub async fn param_export(api: State<'_, Api>, snapshot: i64) -> Result<ParamExport, IpcError> {
    Ok(api.param_export(snapshot)?)
}
