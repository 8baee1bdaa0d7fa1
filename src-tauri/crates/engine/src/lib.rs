//! The engine: the one transport-neutral API of DriveDeck.
//!
//! It wires the command bus (write side) to the query store (read side) and owns the
//! simulated rigs it started. The Tauri shell, the CLI and the tests all call it; none
//! of them touches a port or SQLite directly.
//!
//! - Commands go in through [`Engine::submit`] and come back as jobs.
//! - Everything the bus reports is written to the store by its single writer; the UI
//!   reads it back through [`Engine::reader`] (a read-only connection).
//! - [`Engine::connect_sim_rig`] starts simulated drives on a pseudo-terminal and opens
//!   that pty like any USB adapter, so the simulated rig takes the hardware path; any
//!   protocol the simulator speaks.
//! - [`Engine::connect_serial`] connects drives on a serial port in any protocol;
//!   [`ports`] lists the machine's serial ports and [`Engine::scan`] finds the drives
//!   on one.
//! - [`Engine::setup`] runs a set-up job (new ID, new rate, reboot, factory reset) and
//!   keeps the engine's view of the drive following it.
//! - [`data_dir`]: the user's data folder (database, drive profiles), set up on the
//!   first run.
//! - [`api`]: what a client asks (the Tauri shell's IPC, the CLI, a network service),
//!   with its own request and view types, answered from the engine and its store.

pub mod api;
pub mod data_dir;
mod setup;
pub mod tuning;

pub use setup::SetupOutcome;

pub use drivedeck_bus::ports::{PortInfo, PortKind};
pub use drivedeck_bus::scan::{FoundDrive, ScanOptions, ScanReport};
pub use drivedeck_proto::profile::Protocol;

pub use drivedeck_bus::protocol::{protocol_from_name, protocol_name};
use drivedeck_bus::scan::ScanError;
use drivedeck_bus::{Bus, EventSink, JobHandle, LinkConfig, LinkError, SubmitError};
use drivedeck_domain::{Clock, Command, DriveRef, Event, JobState, LinkId};
use drivedeck_proto::profile::Profile;
use drivedeck_sim::{RigError, RigOptions, SimRig};
use drivedeck_store::{Reader, SessionId, Store, StoreError, StoreWriter};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The store could not be opened or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A link could not be opened.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// The simulator could not start.
    #[error(transparent)]
    Rig(#[from] RigError),
    /// A command was refused before it reached the wire.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// A scan could not run.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// The serial ports could not be listed.
    #[error("{0}")]
    Ports(String),
    /// The request makes no sense (a profile for another protocol, no built-in model).
    #[error("{0}")]
    Invalid(String),
    /// A job the engine ran for the caller was refused or failed on its link.
    #[error("{0}")]
    Job(String),
}

/// How to start an engine.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The store's SQLite file.
    pub db_path: PathBuf,
    /// Telemetry polls per second per link.
    pub poll_hz: f64,
    /// Stop every drive when no heartbeat arrives for this long while one is enabled
    /// (`None`: no heartbeat watch, for headless use where no UI beats).
    pub heartbeat_timeout: Option<Duration>,
    /// Send every drive its safe stop on shutdown (true). A passive logger, which never
    /// commands the drives, leaves them as it found them (false).
    pub stop_on_shutdown: bool,
    /// Drive models besides the built-in ones (the user's profiles folder): scans match
    /// drives against them, connections can name them.
    pub profiles: Vec<Profile>,
}

impl EngineConfig {
    /// Defaults: 200 Hz telemetry, no heartbeat watch, safe stop on shutdown.
    pub fn new(db_path: impl Into<PathBuf>) -> EngineConfig {
        EngineConfig {
            db_path: db_path.into(),
            poll_hz: 200.0,
            heartbeat_timeout: None,
            stop_on_shutdown: true,
            profiles: Vec::new(),
        }
    }
}

/// A connected link, as the shell shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkInfo {
    /// The link.
    pub id: LinkId,
    /// Its port.
    pub port: String,
    /// Its protocol.
    pub protocol: String,
    /// Its baud rate.
    pub baud: u32,
    /// Whether it is a built-in simulator.
    pub simulated: bool,
}

struct StoreSink(StoreWriter);

impl EventSink for StoreSink {
    fn emit(&self, event: Event) {
        self.0.apply(event);
    }
}

/// The engine. See the crate docs.
pub struct Engine {
    store: Store,
    bus: Bus,
    clock: Clock,
    config: EngineConfig,
    session: AtomicI64,
    rigs: Mutex<Vec<(LinkId, SimRig)>>,
    links: Mutex<Vec<LinkInfo>>,
    /// Each connected drive's model, for the parameter grid.
    drive_profiles: Mutex<Vec<(DriveRef, Arc<Profile>)>>,
    heartbeat: Option<drivedeck_bus::supervisor::Heartbeat>,
}

/// The baud rate of the built-in simulated rig (the pty does not pace; the number is
/// what the drives' timing model assumes).
pub const SIM_BAUD: u32 = 1_000_000;

impl Engine {
    /// Opens the store, starts a live session and an empty bus. Call inside a tokio
    /// runtime.
    pub fn start(config: EngineConfig) -> Result<Engine, EngineError> {
        let store = Store::open(&config.db_path)?;
        let clock = Clock::start();
        let writer = store.writer();
        let session = writer.start_session(&session_name(), "", clock.now())?;
        let bus = Bus::new(Arc::new(StoreSink(writer)), clock, store.next_job_id()?);
        let heartbeat = config
            .heartbeat_timeout
            .map(|timeout| drivedeck_bus::supervisor::watch(bus.clone(), timeout));
        Ok(Engine {
            store,
            bus,
            clock,
            config,
            session: AtomicI64::new(session),
            rigs: Mutex::new(Vec::new()),
            links: Mutex::new(Vec::new()),
            drive_profiles: Mutex::new(Vec::new()),
            heartbeat,
        })
    }

    /// The session everything is recorded into now.
    pub fn session(&self) -> SessionId {
        self.session.load(Ordering::Acquire)
    }

    /// Starts a new recording session (the current one stops); everything from now on
    /// is recorded into it. An empty name is refused.
    pub fn start_session(&self, name: &str, notes: &str) -> Result<SessionId, EngineError> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("a session needs a name".into()).into());
        }
        let id = self
            .store
            .writer()
            .start_session(name.trim(), notes, self.clock.now())?;
        self.session.store(id, Ordering::Release);
        Ok(id)
    }

    /// Stops the named recording. Nothing is ever unrecorded: a new automatic session
    /// ("Live <date> UTC") starts in its place and is returned.
    pub fn stop_session(&self) -> Result<SessionId, EngineError> {
        let id = self
            .store
            .writer()
            .start_session(&session_name(), "", self.clock.now())?;
        self.session.store(id, Ordering::Release);
        Ok(id)
    }

    /// Renames a session or changes its notes.
    pub fn set_session_notes(
        &self,
        session: SessionId,
        name: Option<&str>,
        notes: &str,
    ) -> Result<(), EngineError> {
        Ok(self.store.writer().set_notes(session, name, notes)?)
    }

    /// Why the store stopped recording, if it did (disk full, file read-only…).
    pub fn store_failure(&self) -> Option<String> {
        self.store.writer().failure()
    }

    /// The store's file.
    pub fn db_path(&self) -> &Path {
        self.store.path()
    }

    /// The engine's clock (µs since the epoch).
    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Starts a simulated rig of `ids` speaking `protocol` (its built-in drive: XM430-W350
    /// on DYNAMIXEL 2.0, AX-12A on 1.0, STS3215 on Feetech, Kinco FD5P on Modbus RTU)
    /// on a pty and connects to it through the serial port path, like hardware.
    pub async fn connect_sim_rig(
        &self,
        protocol: Protocol,
        ids: &[u8],
    ) -> Result<LinkId, EngineError> {
        let profile = builtin_profile(protocol)?;
        self.connect_sim_rig_with(profile, ids, RigOptions::default())
            .await
    }

    /// Starts a simulated rig of `ids`, all of model `profile`, with `options` (pacing,
    /// line faults), and connects to it like hardware at the options' baud rate.
    pub async fn connect_sim_rig_with(
        &self,
        profile: Profile,
        ids: &[u8],
        options: RigOptions,
    ) -> Result<LinkId, EngineError> {
        let profile = Arc::new(profile);
        let rig = SimRig::spawn_with(&profile, ids, options)?;
        let port = rig.port().to_string_lossy().into_owned();
        let baud = if options.pace { options.baud } else { SIM_BAUD };
        let mut config = LinkConfig::new(
            port.clone(),
            baud,
            ids.iter().map(|id| (*id, Arc::clone(&profile))).collect(),
        );
        config.poll_hz = self.config.poll_hz;
        config.simulated = true;
        let link = self.bus.connect_serial(config).await?;
        self.remember_profiles(link, ids, &profile);
        self.rigs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((link, rig));
        self.links
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(LinkInfo {
                id: link,
                port,
                protocol: protocol_name(profile.protocol).into(),
                baud,
                simulated: true,
            });
        Ok(link)
    }

    /// Connects to drives `ids` of model `profile` speaking `protocol` on a serial port
    /// at `baud`. The profile must be one of `protocol`'s.
    pub async fn connect_serial(
        &self,
        port: &str,
        protocol: Protocol,
        baud: u32,
        profile: Profile,
        ids: &[u8],
    ) -> Result<LinkId, EngineError> {
        if profile.protocol != protocol {
            return Err(EngineError::Invalid(format!(
                "profile {} speaks {}, not {}",
                profile.name,
                protocol_name(profile.protocol),
                protocol_name(protocol)
            )));
        }
        let profile = Arc::new(profile);
        let mut config = LinkConfig::new(
            port,
            baud,
            ids.iter().map(|id| (*id, Arc::clone(&profile))).collect(),
        );
        config.poll_hz = self.config.poll_hz;
        let link = self.bus.connect_serial(config).await?;
        self.remember_profiles(link, ids, &profile);
        self.links
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(LinkInfo {
                id: link,
                port: port.to_string(),
                protocol: protocol_name(protocol).into(),
                baud,
                simulated: false,
            });
        Ok(link)
    }

    /// Finds the drives on `port`: each of `protocols` at each of `bauds` (empty: the
    /// protocol's usual rates), matched against the built-in profiles. A port a link
    /// holds cannot be scanned (it is open exclusively). Journaled as a scan job.
    pub async fn scan(
        &self,
        port: &str,
        protocols: &[Protocol],
        bauds: &[u32],
    ) -> Result<ScanReport, EngineError> {
        let mut options = ScanOptions::new(self.profiles());
        if !protocols.is_empty() {
            options.protocols = protocols.to_vec();
        }
        options.bauds = bauds.to_vec();
        let command = Command::Scan { port: port.into() };
        self.bus.journaled(command, scan(port, &options)).await
    }

    /// Every drive model the engine knows: the user's profiles first (a user's profile of
    /// a model replaces the built-in one), then the built-in ones.
    pub fn profiles(&self) -> Vec<Profile> {
        let mut all = self.config.profiles.clone();
        for builtin in Profile::builtin() {
            if !all.iter().any(|p| p.name == builtin.name) {
                all.push(builtin);
            }
        }
        all
    }

    /// The drive model called `name` (see [`Engine::profiles`]).
    pub fn profile_named(&self, name: &str) -> Result<Profile, EngineError> {
        let all = self.profiles();
        all.iter().find(|p| p.name == name).cloned().ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
            EngineError::Invalid(format!(
                "no drive profile {name:?}; known: {}",
                names.join(", ")
            ))
        })
    }

    /// Closes a link (and the simulated rig behind it). Its drives' state stays as it
    /// is: disable or stop them first. False when there is no such link.
    pub async fn disconnect(&self, link: LinkId) -> bool {
        let known = self.bus.disconnect(link).await;
        self.links
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|l| l.id != link);
        self.rigs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(id, _)| *id != link);
        self.drive_profiles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(drive, _)| drive.link != link);
        known
    }

    fn remember_profiles(&self, link: LinkId, ids: &[u8], profile: &Arc<Profile>) {
        self.drive_profiles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(
                ids.iter()
                    .map(|&id| (DriveRef { link, id }, Arc::clone(profile))),
            );
    }

    /// The model (profile) of a connected drive: its control table, units and limits.
    pub fn drive_profile(&self, drive: DriveRef) -> Option<Arc<Profile>> {
        self.drive_profiles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(d, _)| *d == drive)
            .map(|(_, p)| Arc::clone(p))
    }

    /// The UI is alive (see [`EngineConfig::heartbeat_timeout`]).
    pub fn heartbeat(&self) {
        if let Some(heartbeat) = &self.heartbeat {
            heartbeat.beat();
        }
    }

    /// Runs `f` on the simulated drives behind `link` (the physics pauses meanwhile):
    /// what the far side of the wire really has, for tests and diagnostics.
    pub fn inspect_sim<R>(
        &self,
        link: LinkId,
        f: impl FnOnce(&mut [drivedeck_sim::SimDrive]) -> R,
    ) -> Option<R> {
        let rigs = self.rigs.lock().unwrap_or_else(|e| e.into_inner());
        rigs.iter()
            .find(|(id, _)| *id == link)
            .map(|(_, rig)| rig.with_drives(f))
    }

    /// Runs `f` on the simulated rig behind `link`, for fault injection in tests
    /// (mute it, make its port vanish).
    pub fn with_sim_rig<R>(&self, link: LinkId, f: impl FnOnce(&mut SimRig) -> R) -> Option<R> {
        let mut rigs = self.rigs.lock().unwrap_or_else(|e| e.into_inner());
        rigs.iter_mut()
            .find(|(id, _)| *id == link)
            .map(|(_, rig)| f(rig))
    }

    /// `link`'s health counters: round trips, errors, poll rate, adapter warnings.
    pub fn link_health(&self, link: LinkId) -> Option<drivedeck_bus::health::LinkHealth> {
        self.bus.health(link)
    }

    /// Whether `link` is up (false while lost and reconnecting).
    pub fn link_up(&self, link: LinkId) -> bool {
        self.bus.link_up(link)
    }

    /// The connected links.
    pub fn links(&self) -> Vec<LinkInfo> {
        self.links.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Checks `command` and queues it as a job; refused commands send nothing.
    pub fn submit(&self, command: Command) -> Result<JobHandle, EngineError> {
        Ok(self.bus.submit(command)?)
    }

    /// [`Engine::submit`] with a priority class and a deadline (see
    /// [`drivedeck_bus::JobOptions`]).
    pub fn submit_with(
        &self,
        command: Command,
        options: drivedeck_bus::JobOptions,
    ) -> Result<JobHandle, EngineError> {
        Ok(self.bus.submit_with(command, options)?)
    }

    /// Submits `command` and waits for its terminal state.
    pub async fn run(&self, command: Command) -> Result<JobState, EngineError> {
        Ok(self.submit(command)?.outcome().await)
    }

    /// What the bus knows of `drive` now (its mode, limits, enabled, fault).
    pub fn drive_status(&self, drive: DriveRef) -> Option<drivedeck_domain::DriveStatus> {
        self.bus.drives().into_iter().find(|s| s.drive == drive)
    }

    /// What a tuning test on `drive` would start from: its last position (rad) and the
    /// wire-time limit of a test's cycle (Hz).
    pub fn tune_start(&self, drive: DriveRef) -> Option<(Option<f64>, f64)> {
        self.bus.tune_start(drive)
    }

    /// Keeps run `id`'s analysis (JSON) with the run.
    pub fn set_run_results(&self, id: i64, results: String) -> Result<(), EngineError> {
        self.store
            .writer()
            .set_run_results(id, results, self.clock.now())?;
        Ok(self.store.writer().flush()?)
    }

    /// A new read-only connection to the store.
    pub fn reader(&self) -> Result<Reader, EngineError> {
        Ok(self.store.reader()?)
    }

    /// How many samples are committed to the store (the committed cursor).
    pub fn committed(&self) -> i64 {
        self.store.writer().committed()
    }

    /// Waits until everything reported so far is committed.
    pub fn flush(&self) -> Result<(), EngineError> {
        Ok(self.store.writer().flush()?)
    }

    /// Stops every drive (the safe stop), closes the links and the session, and commits.
    pub async fn shutdown(&self) {
        if let Some(heartbeat) = &self.heartbeat {
            heartbeat.stop();
        }
        if self.config.stop_on_shutdown && !self.links().is_empty() {
            let stop = Command::SafeStop {
                reason: "DriveDeck is closing".into(),
            };
            let outcome = match self.bus.submit(stop) {
                // Bounded: closing the app must never hang on a link.
                Ok(job) => tokio::time::timeout(std::time::Duration::from_secs(3), job.outcome())
                    .await
                    .unwrap_or(JobState::TimedOut),
                Err(e) => JobState::Failed {
                    reason: e.to_string(),
                },
            };
            log::info!("safe stop at shutdown: {}", outcome.name());
        }
        for link in self.links() {
            self.bus.disconnect(link.id).await;
        }
        self.links.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.rigs.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let writer = self.store.writer();
        writer.stop_session(self.clock.now());
        let _ = writer.flush();
    }
}

/// The serial ports of this machine with their USB identities (pseudo-terminals, the
/// simulator's among them, are not listed).
pub fn ports() -> Result<Vec<PortInfo>, EngineError> {
    drivedeck_bus::ports::list().map_err(EngineError::Ports)
}

/// Finds the drives on `port` with `options` (no engine needed: the CLI scans with
/// this).
pub async fn scan(port: &str, options: &ScanOptions) -> Result<ScanReport, EngineError> {
    Ok(drivedeck_bus::scan::scan_serial(port, options).await?)
}

/// The built-in drive model of `protocol`.
pub fn builtin_profile(protocol: Protocol) -> Result<Profile, EngineError> {
    Profile::default_for(protocol).ok_or_else(|| {
        EngineError::Invalid(format!(
            "there is no built-in {} drive model yet",
            protocol_name(protocol)
        ))
    })
}

fn session_name() -> String {
    // Seconds since the epoch → UTC date and time, without a date crate.
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "Live {y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's method).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_780), (2026, 11, 23));
    }
}
