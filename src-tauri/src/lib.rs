//! DriveDeck's desktop shell: a thin Tauri layer over the engine.
//!
//! - [`run`]: builds the window, starts the engine on the app's database, connects the
//!   last connection (the simulated rig by default) and registers the IPC commands.
//! - `commands`: the IPC command list, each a single call of the engine's API
//!   (`drivedeck_engine::api`: views, conversions and queries live there).
//! - `settings`: window size, last connection, recent connections, chart choices, theme
//!   and panel sizes (tauri-plugin-store).
//! - `setup`: bus set-up (a drive's new ID or rate, reboot, reset; the guided one-servo
//!   set-up).
//! - `tuning`: the tuning view's IPC commands (defaults, start, abort, runs, reports).
//! - `error`: the `{ kind, message }` error the UI receives.
//! - `render`: WebKit without OpenGL compositing on a machine without a GPU.
//! - `bindings` (tests only): the TypeScript types of all of the above, generated with
//!   ts-rs into `ui/src/backend/generated/`.
//!
//! Command line: `drivedeck [--db FILE] [--poll-hz HZ]`: the database (default:
//! `drivedeck.db` in the app's data folder, see `drivedeck_engine::data_dir`) and the
//! telemetry poll rate of every link (default: the engine's, 200 Hz).

#[cfg(test)]
mod bindings;
mod commands;
mod error;
mod render;
mod settings;
mod setup;
mod tuning;

use drivedeck_engine::api::Api;
use drivedeck_engine::data_dir::DataDir;
use drivedeck_engine::{Engine, EngineConfig};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{LogicalSize, Manager, RunEvent, WindowEvent};

/// The command line: `[--db FILE] [--poll-hz HZ]`.
#[derive(Debug, Default, PartialEq)]
struct Args {
    /// The database, instead of the one in the data folder.
    db: Option<PathBuf>,
    /// Telemetry polls per second on every link, instead of the engine's default.
    poll_hz: Option<f64>,
}

/// The fastest telemetry poll the command line accepts, Hz.
const MAX_POLL_HZ: f64 = 10_000.0;

const USAGE: &str = "usage: drivedeck [--db FILE] [--poll-hz HZ]";

/// Parses the command line; anything else is refused with a message.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut args = args.into_iter();
    let mut parsed = Args::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--db" => parsed.db = Some(PathBuf::from(args.next().ok_or("--db needs a file path")?)),
            "--poll-hz" => {
                let text = args.next().ok_or("--poll-hz needs a rate in Hz")?;
                let hz: f64 = text
                    .parse()
                    .map_err(|_| format!("--poll-hz: {text:?} is not a number"))?;
                if !(hz.is_finite() && (1.0..=MAX_POLL_HZ).contains(&hz)) {
                    return Err(format!("--poll-hz: {text} is outside 1 – {MAX_POLL_HZ} Hz"));
                }
                parsed.poll_hz = Some(hz);
            }
            other => return Err(format!("unknown argument {other:?} ({USAGE})")),
        }
    }
    Ok(parsed)
}

/// Runs the desktop app until its window closes.
pub fn run() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    render::restart_without_compositing_if_needed();
    let Args { db, poll_hz } = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("drivedeck: {e}");
            std::process::exit(2);
        }
    };
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::default().build())
        .setup(move |app| {
            let handle = app.handle().clone();
            let data = DataDir::prepare(&app.path().app_data_dir()?)?;
            log::info!("data folder: {}", data.root().display());
            let profiles = data.usable_profiles();
            let db_path = db.clone().unwrap_or_else(|| data.database());
            log::info!("store: {}", db_path.display());
            let engine = tauri::async_runtime::block_on(async {
                let mut config = EngineConfig::new(&db_path);
                // The UI beats every 100 ms; half a second of silence stops the drives.
                config.heartbeat_timeout = Some(std::time::Duration::from_millis(500));
                config.profiles = profiles;
                if let Some(hz) = poll_hz {
                    config.poll_hz = hz;
                }
                let engine = Engine::start(config)?;
                let settings::Connection::Sim { ids, protocol } = settings::connection(&handle);
                let ids = if ids.is_empty() { vec![1, 2] } else { ids };
                let protocol =
                    drivedeck_engine::protocol_from_name(&protocol).unwrap_or_else(|| {
                        log::warn!(
                            "unknown protocol {protocol:?} in the settings: using dynamixel2"
                        );
                        drivedeck_engine::Protocol::Dynamixel2
                    });
                engine.connect_sim_rig(protocol, &ids).await?;
                let remembered = settings::Connection::Sim {
                    ids,
                    protocol: drivedeck_engine::protocol_name(protocol).into(),
                };
                if let Err(e) = settings::set_connection(&handle, &remembered) {
                    log::warn!("could not remember the connection: {e}");
                }
                Ok::<_, drivedeck_engine::EngineError>(engine)
            })?;
            app.manage(Api::new(Arc::new(engine))?);
            if let Some(window) = app.get_webview_window("main") {
                if let Some(size) = settings::window_size(&handle) {
                    let _ = window.set_size(LogicalSize::new(size.width, size.height));
                }
                window.show()?;
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::Resized(size) = event {
                let scale = window.scale_factor().unwrap_or(1.0);
                let logical = size.to_logical::<f64>(scale);
                let size = settings::WindowSize {
                    width: logical.width,
                    height: logical.height,
                };
                if let Err(e) = settings::set_window_size(window.app_handle(), size) {
                    log::warn!("could not remember the window size: {e}");
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_status,
            commands::stop_notices,
            commands::drives,
            commands::submit,
            commands::heartbeat,
            commands::ports,
            commands::scan,
            commands::jobs,
            commands::channels,
            commands::tail,
            commands::window,
            commands::export_range,
            commands::profiles,
            commands::connect_serial,
            commands::connect_sim,
            commands::disconnect,
            commands::recent_connections,
            commands::recent_forget,
            commands::settings_get,
            commands::settings_set_chart,
            commands::settings_set_look,
            commands::sessions,
            commands::session,
            commands::session_start,
            commands::session_stop,
            commands::session_set_notes,
            commands::faults,
            commands::params,
            commands::param_snapshots,
            commands::param_diff,
            commands::param_export,
            setup::setup_drive,
            setup::setup_assign,
            tuning::tune_defaults,
            tuning::tune_start,
            tuning::tune_abort,
            tuning::tune_runs,
            tuning::tune_run,
            tuning::tune_identify,
            tuning::tune_suggest,
            tuning::tune_predict,
            tuning::tune_passive,
            tuning::tune_compare,
            tuning::tune_compare_export,
            tuning::tune_export,
        ])
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("drivedeck: could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let RunEvent::Exit = event
            && let Some(state) = handle.try_state::<Api>()
        {
            // No motor keeps running after DriveDeck closes: safe stop, then commit.
            let engine = Arc::clone(state.engine());
            tauri::async_runtime::block_on(async move { engine.shutdown().await });
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn the_command_line_takes_a_database_and_a_poll_rate() {
        assert_eq!(parse(&[]), Ok(Args::default()));
        assert_eq!(
            parse(&["--db", "x.db", "--poll-hz", "1000"]),
            Ok(Args {
                db: Some(PathBuf::from("x.db")),
                poll_hz: Some(1000.0)
            })
        );
    }

    #[test]
    fn a_bad_command_line_is_refused_with_the_reason() {
        for (args, reason) in [
            (&["--poll-hz"][..], "needs a rate"),
            (&["--poll-hz", "fast"], "not a number"),
            (&["--poll-hz", "0"], "outside"),
            (&["--poll-hz", "NaN"], "outside"),
            (&["--poll-hz", "20000"], "outside"),
            (&["--db"], "needs a file"),
            (&["--verbose"], "unknown argument"),
        ] {
            let error = parse(args).expect_err("refused");
            assert!(error.contains(reason), "{args:?}: {error}");
        }
    }
}
