//! Jogs: a velocity command held for a bounded time. The actor keeps each drive's jog
//! deadline; this module finds the jog that ran out, says when the next one does, and
//! brings a drive whose jog ended to velocity 0.

use super::{Actor, CommandError};
use drivedeck_domain::{Event, Target};
use drivedeck_proto::profile::Role;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Actor<T> {
    pub(super) fn expired_jog(&self) -> Option<u8> {
        let now = Instant::now();
        self.jogs
            .iter()
            .find(|(_, until)| **until <= now)
            .map(|(id, _)| *id)
    }

    pub(super) fn next_jog_deadline(&self) -> Option<Instant> {
        self.jogs.values().min().copied()
    }

    /// Brings a drive whose jog ran out to velocity 0. `Err` when the link is lost.
    pub(super) async fn end_jog(&mut self, id: u8) -> Result<(), String> {
        self.jogs.remove(&id);
        let Some(profile) = self.profile_of(id) else {
            return Ok(());
        };
        let stop = match self.write_request(&profile, id, Role::GoalVelocity, 0) {
            Ok(stop) => stop,
            Err(e) => {
                log::error!("link {}: cannot stop the jog of drive {id}: {e}", self.id);
                return Ok(());
            }
        };
        match self.command(&stop, id).await {
            Ok(_) => {
                let changed = {
                    let mut drives = self.write_drives();
                    drives.get_mut(&id).map(|entry| {
                        entry.status.target = Some(Target::Velocity(0.0));
                        entry.status.clone()
                    })
                };
                if let Some(status) = changed {
                    self.sink.emit(Event::DriveChanged {
                        status,
                        at: self.clock.now(),
                    });
                }
                Ok(())
            }
            Err(CommandError::Io(e)) => Err(e),
            Err(e) => {
                // The drive did not take the stop: tell the log; the state poll and the
                // watchdog remain, and the next loop does not retry forever.
                log::error!("link {}: could not end the jog of drive {id}: {e}", self.id);
                Ok(())
            }
        }
    }
}
