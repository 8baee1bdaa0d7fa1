//! What DriveDeck remembers across restarts, kept with tauri-plugin-store in
//! `settings.json` in the app's data folder: the window's size, the last connection,
//! the chart choices, the theme and the panel sizes. Values that fail to parse fall back to defaults (a hand-edited or
//! older file never stops the app from starting).

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
            journal_px: 160.0,
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

    #[test]
    fn an_older_chart_setting_falls_back_to_the_default() {
        // Before channel picks, `channels` held bare names; such a file must not parse
        // into something half-valid (the getter then uses the default).
        let old = serde_json::json!({ "windowSeconds": 10.0, "channels": ["position"] });
        assert!(serde_json::from_value::<ChartSettings>(old).is_err());
    }
}
