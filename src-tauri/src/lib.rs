//! DriveDeck's desktop shell: a thin Tauri layer over the engine.
//!
//! - [`run`]: builds the window, starts the engine on the app's database, connects the
//!   last connection (the simulated rig by default) and registers the IPC commands.
//! - `commands`: one function per IPC call, each a single engine call.
//! - `settings`: window size, last connection, chart choices, theme and panel sizes
//!   (tauri-plugin-store).
//! - `error`: the `{ kind, message }` error the UI receives.
//! - `bindings` (tests only): the TypeScript types of all of the above, generated with
//!   ts-rs into `ui/src/backend/generated/`.
//!
//! Command line: `drivedeck [--db FILE]` (default: `drivedeck.db` in the app's data
//! folder).

#[cfg(test)]
mod bindings;
mod commands;
mod error;
mod settings;

use commands::AppState;
use drivedeck_engine::{Engine, EngineConfig};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tauri::{LogicalSize, Manager, RunEvent, WindowEvent};

/// Parses `--db FILE`; anything else is refused with a message.
fn db_arg() -> Result<Option<PathBuf>, String> {
    let mut args = std::env::args().skip(1);
    let mut db = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--db" => db = Some(PathBuf::from(args.next().ok_or("--db needs a file path")?)),
            other => {
                return Err(format!(
                    "unknown argument {other:?} (usage: drivedeck [--db FILE])"
                ));
            }
        }
    }
    Ok(db)
}

/// Runs the desktop app until its window closes.
pub fn run() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let db = match db_arg() {
        Ok(db) => db,
        Err(e) => {
            eprintln!("drivedeck: {e}");
            std::process::exit(2);
        }
    };
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::default().build())
        .setup(move |app| {
            let handle = app.handle().clone();
            let db_path = match db.clone() {
                Some(path) => path,
                None => app.path().app_data_dir()?.join("drivedeck.db"),
            };
            log::info!("store: {}", db_path.display());
            let engine = tauri::async_runtime::block_on(async {
                let mut config = EngineConfig::new(&db_path);
                // The UI beats every 100 ms; half a second of silence stops the drives.
                config.heartbeat_timeout = Some(std::time::Duration::from_millis(500));
                let engine = Engine::start(config)?;
                let settings::Connection::Sim { ids } = settings::connection(&handle);
                let ids = if ids.is_empty() { vec![1, 2] } else { ids };
                engine.connect_sim_rig(&ids).await?;
                if let Err(e) =
                    settings::set_connection(&handle, &settings::Connection::Sim { ids })
                {
                    log::warn!("could not remember the connection: {e}");
                }
                Ok::<_, drivedeck_engine::EngineError>(engine)
            })?;
            let reader = engine.reader()?;
            app.manage(AppState {
                engine: Arc::new(engine),
                reader: Mutex::new(reader),
            });
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
            commands::drives,
            commands::submit,
            commands::heartbeat,
            commands::jobs,
            commands::channels,
            commands::tail,
            commands::window,
            commands::export_range,
            commands::settings_get,
            commands::settings_set_chart,
            commands::settings_set_look,
            commands::sessions,
            commands::session,
            commands::session_start,
            commands::session_stop,
            commands::session_set_notes,
            commands::faults,
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
            && let Some(state) = handle.try_state::<AppState>()
        {
            // No motor keeps running after DriveDeck closes: safe stop, then commit.
            let engine = Arc::clone(&state.engine);
            tauri::async_runtime::block_on(async move { engine.shutdown().await });
        }
    });
}
