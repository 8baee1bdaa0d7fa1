//! The safety supervisor's heartbeat watch: no motor runs unwatched.
//!
//! The UI sends heartbeats while it is alive and rendering. If none arrives for the
//! configured timeout (500 ms by default) while any drive is enabled, the supervisor
//! submits a [`Command::SafeStop`] — the same path as the E-stop, ahead of every queue,
//! journaled with its reason. It never re-enables anything: after a stop, enabling is
//! the user's act again. The watch runs on its own task, independent of the UI and of
//! the link actors.

use crate::Bus;
use drivedeck_domain::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// The UI's side of the watch: call [`Heartbeat::beat`] at least every timeout.
#[derive(Clone)]
pub struct Heartbeat {
    last: Arc<Mutex<Instant>>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

impl Heartbeat {
    /// Records that the UI is alive.
    pub fn beat(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    /// Stops watching (for shutdown).
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// Starts watching `bus`: the clock starts now, as if a heartbeat had just arrived.
pub fn watch(bus: Bus, timeout: Duration) -> Heartbeat {
    let last = Arc::new(Mutex::new(Instant::now()));
    let seen = Arc::clone(&last);
    let period = (timeout / 5).max(Duration::from_millis(10));
    let task = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // One stop per silence: rearmed by the next heartbeat.
        let mut stopped_for: Option<Instant> = None;
        loop {
            ticker.tick().await;
            let last = *seen.lock().unwrap_or_else(|e| e.into_inner());
            let silent = last.elapsed();
            if silent < timeout || stopped_for == Some(last) {
                continue;
            }
            if !bus.drives().iter().any(|d| d.enabled) {
                continue;
            }
            let reason = format!(
                "no heartbeat from the UI for {} ms while a drive was enabled",
                silent.as_millis()
            );
            log::warn!("supervisor: {reason}");
            if let Err(e) = bus.submit(Command::SafeStop { reason }) {
                log::error!("supervisor could not submit the safe stop: {e}");
            }
            stopped_for = Some(last);
        }
    });
    Heartbeat {
        last,
        task: Arc::new(task),
    }
}
