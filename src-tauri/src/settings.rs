//! What DriveDeck remembers across restarts, kept with tauri-plugin-store in
//! `settings.json` in the app's data folder: the window's size, the last connection and
//! the chart choices. Values that fail to parse fall back to defaults (a hand-edited or
//! older file never stops the app from starting).

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime};
use tauri_plugin_store::StoreExt;

/// The settings file, relative to the app's data folder.
pub const FILE: &str = "settings.json";

/// Chart choices.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChartSettings {
    /// Seconds of history the live chart shows.
    pub window_seconds: f64,
    /// Channels shown: `position`, `velocity`, `current`.
    pub channels: Vec<String>,
}

impl Default for ChartSettings {
    fn default() -> Self {
        ChartSettings {
            window_seconds: 10.0,
            channels: vec!["position".into(), "velocity".into()],
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
        for channel in &self.channels {
            if !matches!(channel.as_str(), "position" | "velocity" | "current") {
                return Err(format!("unknown chart channel {channel:?}"));
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
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Chart choices.
    pub chart: ChartSettings,
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
            channels: vec!["torque".into()],
            ..ChartSettings::default()
        };
        assert!(bad_channel.validate().unwrap_err().contains("torque"));
    }

    #[test]
    fn settings_json_shape() {
        let json = serde_json::to_value(Settings::default()).expect("json");
        assert_eq!(json["chart"]["windowSeconds"], 10.0);
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
}
