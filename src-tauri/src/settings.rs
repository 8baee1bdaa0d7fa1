//! What DriveDeck remembers across restarts, kept with tauri-plugin-store in
//! `settings.json` in the app's data folder: the window's size, the last connection,
//! the recent connections (the Connect panel's list), the chart choices, the theme and
//! the panel sizes. Values that fail to parse fall back to defaults, and a recent
//! connection that fails to parse is dropped with a log line (a hand-edited or older
//! file never stops the app from starting).

use drivedeck_domain::DriveRef;
use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime};
use tauri_plugin_store::StoreExt;
use ts_rs::TS;

/// The settings file, relative to the app's data folder.
pub const FILE: &str = "settings.json";

/// One channel the chart shows: a drive's `position`, `velocity` or `current`. Kept by
/// drive and name, not by the store's channel ID, which is new in every session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct ChannelPick {
    /// The drive.
    pub drive: DriveRef,
    /// `position`, `velocity` or `current`.
    pub name: String,
}

/// Chart choices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ChartSettings {
    /// Seconds of history the live chart shows.
    pub window_seconds: f64,
    /// Channels shown, in any drives.
    pub channels: Vec<ChannelPick>,
}

/// The most channels the chart draws at once.
pub const MAX_CHART_CHANNELS: usize = 32;

impl Default for ChartSettings {
    fn default() -> Self {
        let first = DriveRef { link: 1, id: 1 };
        ChartSettings {
            window_seconds: 10.0,
            channels: ["position", "velocity"]
                .into_iter()
                .map(|name| ChannelPick {
                    drive: first,
                    name: name.into(),
                })
                .collect(),
        }
    }
}

impl ChartSettings {
    /// Refuses values the chart cannot use.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.window_seconds.is_finite() && (1.0..=3600.0).contains(&self.window_seconds)) {
            return Err(format!(
                "chart window {} s is outside 1 – 3600 s",
                self.window_seconds
            ));
        }
        if self.channels.len() > MAX_CHART_CHANNELS {
            return Err(format!(
                "{} chart channels is more than {MAX_CHART_CHANNELS}",
                self.channels.len()
            ));
        }
        for pick in &self.channels {
            if !matches!(pick.name.as_str(), "position" | "velocity" | "current") {
                return Err(format!("unknown chart channel {:?}", pick.name));
            }
        }
        Ok(())
    }
}

/// The colour theme.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum Theme {
    /// Follow the operating system's light/dark preference.
    #[default]
    System,
    /// Dark.
    Dark,
    /// Light.
    Light,
}

/// The look: theme and the sizes of the resizable panels, in logical pixels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LookSettings {
    /// The colour theme.
    pub theme: Theme,
    /// Width of the drives column.
    pub sidebar_px: f64,
    /// Height of the job journal at the bottom.
    pub journal_px: f64,
}

impl Default for LookSettings {
    fn default() -> Self {
        LookSettings {
            theme: Theme::System,
            sidebar_px: 300.0,
            journal_px: 128.0,
        }
    }
}

/// Panel sizes the layout accepts.
const SIDEBAR_PX: std::ops::RangeInclusive<f64> = 160.0..=900.0;
const JOURNAL_PX: std::ops::RangeInclusive<f64> = 60.0..=900.0;

impl LookSettings {
    /// Refuses sizes the layout cannot use.
    pub fn validate(&self) -> Result<(), String> {
        for (what, value, range) in [
            ("drives column width", self.sidebar_px, SIDEBAR_PX),
            ("journal height", self.journal_px, JOURNAL_PX),
        ] {
            if !(value.is_finite() && range.contains(&value)) {
                return Err(format!(
                    "{what} {value} px is outside {} – {} px",
                    range.start(),
                    range.end()
                ));
            }
        }
        Ok(())
    }
}

/// The window's last size, in logical pixels.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowSize {
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
}

/// The last connection made, reopened at start-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Connection {
    /// The built-in simulated rig with these drive IDs.
    Sim {
        /// Drive IDs.
        ids: Vec<u8>,
        /// The protocol its drives speak (`dynamixel2`, `dynamixel1`, `feetech`,
        /// `modbus-rtu`); DYNAMIXEL 2.0 when not given (settings from before protocols).
        #[serde(default = "default_protocol")]
        protocol: String,
    },
}

fn default_protocol() -> String {
    "dynamixel2".into()
}

impl Default for Connection {
    fn default() -> Self {
        Connection::Sim {
            ids: vec![1, 2],
            protocol: default_protocol(),
        }
    }
}

/// A connection the Connect panel made, as it can be made again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum RecentConnection {
    /// Drives on a serial port (an adapter, or any pty).
    Serial {
        /// The port's path.
        port: String,
        /// `dynamixel2`, `dynamixel1`, `feetech` or `modbus-rtu`.
        protocol: String,
        /// Baud rate.
        baud: u32,
        /// Drive IDs, ascending.
        ids: Vec<u8>,
        /// The drive model's profile name; the protocol's built-in model when none.
        model: Option<String>,
    },
    /// A simulated rig started from the Connect panel.
    Sim {
        /// The protocol its drives speak.
        protocol: String,
        /// Drive IDs, ascending.
        ids: Vec<u8>,
    },
}

impl RecentConnection {
    /// The same connection with its IDs in ascending order, so that two spellings of
    /// one connection are one entry.
    pub fn normalized(mut self) -> RecentConnection {
        match &mut self {
            RecentConnection::Serial { ids, port, .. } => {
                ids.sort_unstable();
                *port = port.trim().to_string();
            }
            RecentConnection::Sim { ids, .. } => ids.sort_unstable(),
        }
        self
    }

    /// Refuses what the Connect panel could not have made (a hand-edited file).
    pub fn validate(&self) -> Result<(), String> {
        let (protocol, ids) = match self {
            RecentConnection::Serial {
                port,
                protocol,
                baud,
                ids,
                model,
            } => {
                if port.trim().is_empty() {
                    return Err("no serial port".into());
                }
                if !(300..=20_000_000).contains(baud) {
                    return Err(format!("{baud} baud is outside 300..=20000000"));
                }
                if model.as_deref().is_some_and(|m| m.trim().is_empty()) {
                    return Err("an empty drive model name".into());
                }
                (protocol, ids)
            }
            RecentConnection::Sim { protocol, ids } => (protocol, ids),
        };
        if drivedeck_engine::protocol_from_name(protocol).is_none() {
            return Err(format!("unknown protocol {protocol:?}"));
        }
        if ids.is_empty() {
            return Err("no drive IDs".into());
        }
        if let Some(bad) = ids.iter().find(|id| !(1..=253).contains(*id)) {
            return Err(format!("drive ID {bad} is outside 1..=253"));
        }
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err("a drive ID is listed twice".into());
        }
        Ok(())
    }
}

/// One entry of the recent connections: what, and when it last connected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Recent {
    /// The connection.
    pub connection: RecentConnection,
    /// When it last connected, ms since the epoch.
    #[ts(type = "number")]
    pub at_ms: u64,
}

/// How many recent connections are kept.
pub const MAX_RECENT: usize = 10;

/// The recent connections in a stored value: entries that do not parse or make no sense
/// are dropped, each with a log line; a value that is not a list gives none.
pub fn parse_recent(value: Option<serde_json::Value>) -> Vec<Recent> {
    let items = match value {
        None => return Vec::new(),
        Some(serde_json::Value::Array(items)) => items,
        Some(other) => {
            log::warn!("recent connections in {FILE} are not a list, ignored: {other}");
            return Vec::new();
        }
    };
    let mut kept: Vec<Recent> = Vec::new();
    for item in items {
        match serde_json::from_value::<Recent>(item.clone()) {
            Ok(recent) => match recent.connection.validate() {
                Ok(()) => {
                    let recent = Recent {
                        connection: recent.connection.normalized(),
                        ..recent
                    };
                    if !kept.iter().any(|k| k.connection == recent.connection) {
                        kept.push(recent);
                    }
                }
                Err(e) => log::warn!("a recent connection in {FILE} dropped ({e}): {item}"),
            },
            Err(e) => log::warn!("a recent connection in {FILE} dropped ({e}): {item}"),
        }
    }
    kept.truncate(MAX_RECENT);
    kept
}

/// `list` with `connection` first (made `at_ms`), any older copy of it removed, at most
/// [`MAX_RECENT`] long.
pub fn with_recent(list: Vec<Recent>, connection: RecentConnection, at_ms: u64) -> Vec<Recent> {
    let connection = connection.normalized();
    let mut out = vec![Recent {
        connection: connection.clone(),
        at_ms,
    }];
    out.extend(list.into_iter().filter(|r| r.connection != connection));
    out.truncate(MAX_RECENT);
    out
}

/// Serialises the read-modify-write of the recent list (two connections finishing at
/// once must both be kept).
static RECENT_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

const RECENT_KEY: &str = "recentConnections";

fn stored_recent<R: Runtime>(app: &AppHandle<R>) -> Vec<Recent> {
    parse_recent(app.store(FILE).ok().and_then(|store| store.get(RECENT_KEY)))
}

/// The recent connections, most recent first.
pub fn recent<R: Runtime>(app: &AppHandle<R>) -> Vec<Recent> {
    let _guard = RECENT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    stored_recent(app)
}

/// Remembers a connection that was just made; returns the new list.
pub fn remember<R: Runtime>(
    app: &AppHandle<R>,
    connection: RecentConnection,
) -> Result<Vec<Recent>, String> {
    connection.validate()?;
    let _guard = RECENT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let list = with_recent(stored_recent(app), connection, at_ms);
    set(app, RECENT_KEY, &list)?;
    Ok(list)
}

/// Forgets a recent connection; returns the new list.
pub fn forget<R: Runtime>(
    app: &AppHandle<R>,
    connection: RecentConnection,
) -> Result<Vec<Recent>, String> {
    let _guard = RECENT_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let connection = connection.normalized();
    let list: Vec<Recent> = stored_recent(app)
        .into_iter()
        .filter(|r| r.connection != connection)
        .collect();
    set(app, RECENT_KEY, &list)?;
    Ok(list)
}

/// Everything the UI reads at start.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, TS)]
pub struct Settings {
    /// Chart choices.
    pub chart: ChartSettings,
    /// Theme and panel sizes.
    pub look: LookSettings,
}

fn get<R: Runtime, T: for<'de> Deserialize<'de>>(app: &AppHandle<R>, key: &str) -> Option<T> {
    let store = app.store(FILE).ok()?;
    let value = store.get(key)?;
    serde_json::from_value(value).ok()
}

fn set<R: Runtime, T: Serialize>(app: &AppHandle<R>, key: &str, value: &T) -> Result<(), String> {
    let store = app.store(FILE).map_err(|e| e.to_string())?;
    store.set(key, serde_json::to_value(value).map_err(|e| e.to_string())?);
    store.save().map_err(|e| e.to_string())
}

/// The chart choices (defaults if none or unreadable).
pub fn chart<R: Runtime>(app: &AppHandle<R>) -> ChartSettings {
    get::<R, ChartSettings>(app, "chart")
        .filter(|c| c.validate().is_ok())
        .unwrap_or_default()
}

/// Saves the chart choices after checking them.
pub fn set_chart<R: Runtime>(app: &AppHandle<R>, chart: &ChartSettings) -> Result<(), String> {
    chart.validate()?;
    set(app, "chart", chart)
}

/// The theme and panel sizes (defaults if none or unreadable).
pub fn look<R: Runtime>(app: &AppHandle<R>) -> LookSettings {
    get::<R, LookSettings>(app, "look")
        .filter(|l| l.validate().is_ok())
        .unwrap_or_default()
}

/// Saves the theme and panel sizes after checking them.
pub fn set_look<R: Runtime>(app: &AppHandle<R>, look: &LookSettings) -> Result<(), String> {
    look.validate()?;
    set(app, "look", look)
}

/// The last window size, if any.
pub fn window_size<R: Runtime>(app: &AppHandle<R>) -> Option<WindowSize> {
    get::<R, WindowSize>(app, "window").filter(|s| {
        s.width.is_finite() && s.height.is_finite() && s.width >= 400.0 && s.height >= 300.0
    })
}

/// Remembers the window size.
pub fn set_window_size<R: Runtime>(app: &AppHandle<R>, size: WindowSize) -> Result<(), String> {
    set(app, "window", &size)
}

/// The last connection (the simulated rig if none).
pub fn connection<R: Runtime>(app: &AppHandle<R>) -> Connection {
    get(app, "lastConnection").unwrap_or_default()
}

/// Remembers the last connection.
pub fn set_connection<R: Runtime>(
    app: &AppHandle<R>,
    connection: &Connection,
) -> Result<(), String> {
    set(app, "lastConnection", connection)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_settings_are_checked() {
        assert!(ChartSettings::default().validate().is_ok());
        let bad_window = ChartSettings {
            window_seconds: f64::NAN,
            ..ChartSettings::default()
        };
        assert!(bad_window.validate().is_err());
        let bad_channel = ChartSettings {
            channels: vec![ChannelPick {
                drive: DriveRef { link: 1, id: 2 },
                name: "torque".into(),
            }],
            ..ChartSettings::default()
        };
        assert!(bad_channel.validate().unwrap_err().contains("torque"));
        let too_many = ChartSettings {
            channels: vec![ChartSettings::default().channels[0].clone(); MAX_CHART_CHANNELS + 1],
            ..ChartSettings::default()
        };
        assert!(too_many.validate().is_err());
    }

    #[test]
    fn look_settings_are_checked() {
        assert!(LookSettings::default().validate().is_ok());
        for (sidebar_px, journal_px) in [(10.0, 200.0), (300.0, f64::INFINITY), (f64::NAN, 200.0)] {
            let look = LookSettings {
                theme: Theme::Dark,
                sidebar_px,
                journal_px,
            };
            assert!(look.validate().is_err(), "{sidebar_px} {journal_px}");
        }
    }

    #[test]
    fn settings_json_shape() {
        let json = serde_json::to_value(Settings::default()).expect("json");
        assert_eq!(json["chart"]["windowSeconds"], 10.0);
        assert_eq!(json["chart"]["channels"][0]["drive"]["id"], 1);
        assert_eq!(json["chart"]["channels"][1]["name"], "velocity");
        assert_eq!(json["look"]["theme"], "system");
        assert_eq!(json["look"]["sidebarPx"], 300.0);
        let look: LookSettings =
            serde_json::from_str(r#"{"theme":"light","sidebarPx":250,"journalPx":120}"#)
                .expect("parses");
        assert_eq!(look.theme, Theme::Light);
        let connection: Connection =
            serde_json::from_str(r#"{"kind":"sim","ids":[3]}"#).expect("parses");
        assert_eq!(
            connection,
            Connection::Sim {
                ids: vec![3],
                protocol: "dynamixel2".into()
            }
        );
        let feetech: Connection =
            serde_json::from_str(r#"{"kind":"sim","ids":[1],"protocol":"feetech"}"#)
                .expect("parses");
        assert_eq!(
            feetech,
            Connection::Sim {
                ids: vec![1],
                protocol: "feetech".into()
            }
        );
    }

    fn serial(port: &str, ids: &[u8]) -> RecentConnection {
        RecentConnection::Serial {
            port: port.into(),
            protocol: "feetech".into(),
            baud: 1_000_000,
            ids: ids.to_vec(),
            model: None,
        }
    }

    #[test]
    fn a_connection_goes_first_once_and_the_list_is_capped() {
        let mut list = Vec::new();
        for n in 0..12u8 {
            list = with_recent(list, serial(&format!("/dev/ttyUSB{n}"), &[1]), u64::from(n));
        }
        assert_eq!(list.len(), MAX_RECENT);
        assert_eq!(list[0].connection, serial("/dev/ttyUSB11", &[1]));
        assert_eq!(list[9].connection, serial("/dev/ttyUSB2", &[1]));
        // The same connection again (IDs in another order): moved to the front, not doubled.
        let list = with_recent(list, serial("/dev/ttyUSB5", &[1]), 99);
        assert_eq!(list.len(), MAX_RECENT);
        assert_eq!(
            (&list[0].connection, list[0].at_ms),
            (&serial("/dev/ttyUSB5", &[1]), 99)
        );
        assert_eq!(
            list.iter()
                .filter(|r| r.connection == serial("/dev/ttyUSB5", &[1]))
                .count(),
            1
        );
        let list = with_recent(list, serial("/dev/ttyUSB5", &[2, 1]), 100);
        let list = with_recent(list, serial("/dev/ttyUSB5", &[1, 2]), 101);
        assert_eq!(list[0].connection, serial("/dev/ttyUSB5", &[1, 2]));
        assert_ne!(list[1].connection, serial("/dev/ttyUSB5", &[1, 2]));
    }

    #[test]
    fn bad_recent_entries_are_dropped_and_the_good_ones_kept() {
        let stored = serde_json::json!([
            { "connection": { "kind": "serial", "port": "/dev/ttyUSB0", "protocol": "feetech",
                              "baud": 1000000, "ids": [8, 3], "model": null }, "atMs": 5 },
            { "connection": { "kind": "sim", "protocol": "modbus-rtu", "ids": [1] }, "atMs": 4 },
            "garbage",
            { "connection": { "kind": "serial", "port": "", "protocol": "feetech", "baud": 1000000,
                              "ids": [1], "model": null }, "atMs": 3 },
            { "connection": { "kind": "sim", "protocol": "canopen", "ids": [1] }, "atMs": 2 },
            { "connection": { "kind": "sim", "protocol": "feetech", "ids": [0, 300] }, "atMs": 2 },
            { "connection": { "kind": "sim", "protocol": "feetech", "ids": [] }, "atMs": 2 },
            { "connection": { "kind": "serial", "port": "/dev/ttyUSB0", "protocol": "feetech",
                              "baud": 7, "ids": [1], "model": null }, "atMs": 1 },
            { "connection": { "kind": "telnet" }, "atMs": 1 },
            { "connection": { "kind": "sim", "protocol": "dynamixel2", "ids": [1, 1] }, "atMs": 1 },
            { "connection": { "kind": "sim", "protocol": "modbus-rtu", "ids": [1] }, "atMs": 0 },
            { "atMs": -3 }
        ]);
        let list = parse_recent(Some(stored));
        assert_eq!(
            list.iter().map(|r| &r.connection).collect::<Vec<_>>(),
            [
                &serial("/dev/ttyUSB0", &[3, 8]),
                &RecentConnection::Sim {
                    protocol: "modbus-rtu".into(),
                    ids: vec![1]
                }
            ]
        );
        assert!(parse_recent(Some(serde_json::json!({ "not": "a list" }))).is_empty());
        assert!(parse_recent(None).is_empty());
    }

    #[test]
    fn recent_connection_json_shape() {
        let json = serde_json::to_value(Recent {
            connection: serial("/dev/pts/3", &[3, 8]),
            at_ms: 7,
        })
        .expect("json");
        assert_eq!(
            json,
            serde_json::json!({ "connection": { "kind": "serial", "port": "/dev/pts/3",
                "protocol": "feetech", "baud": 1000000, "ids": [3, 8], "model": null }, "atMs": 7 })
        );
    }

    #[test]
    fn an_older_chart_setting_falls_back_to_the_default() {
        // Before channel picks, `channels` held bare names; such a file must not parse
        // into something half-valid (the getter then uses the default).
        let old = serde_json::json!({ "windowSeconds": 10.0, "channels": ["position"] });
        assert!(serde_json::from_value::<ChartSettings>(old).is_err());
    }
}
