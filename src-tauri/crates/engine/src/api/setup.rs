//! Setting a bus up: a connected drive's set-up steps (a new ID or baud rate, a reboot,
//! a factory reset) and the guided "one drive at a time" assignment.
//!
//! The guided assignment is how a fresh bus of servos gets its IDs (every servo leaves
//! the factory as ID 1): the user connects one servo alone, DriveDeck finds it at
//! whatever ID and rate it has (the protocol's usual rates first, then every rate the
//! protocol can encode, stopping at the first that answers), gives it the ID and rate
//! asked for as set-up jobs on a link of its own, closes that link and says "connect
//! the next". More than one drive answering is refused before anything is written: the
//! servos would all take the same ID. Modbus RTU drives set their unit address and rate
//! in vendor parameters, so they are refused here with that said.

use super::{Api, ApiError};
use crate::{EngineError, Protocol, protocol_from_name, protocol_name};
use drivedeck_bus::scan::default_bauds;
use drivedeck_domain::{DriveRef, SetupStep};
use drivedeck_proto::baud;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a set-up step left its drive.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SetupDone {
    /// The set-up job.
    #[ts(type = "number")]
    pub job: u64,
    /// The drive as it is addressed now.
    pub drive: DriveRef,
    /// The rate its link talks to it at now, bits/s.
    pub baud: u32,
}

/// One servo of a guided set-up: the port it is alone on and what it should become.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields = nullable)]
pub struct AssignRequest {
    /// The port (`/dev/ttyUSB0`, `COM3`).
    pub port: String,
    /// The protocol's name (`dynamixel2`, `dynamixel1`, `feetech`).
    pub protocol: String,
    /// The ID to give the servo.
    pub to: u8,
    /// The rate to move it to; `None` keeps the rate it has.
    #[serde(default)]
    pub baud: Option<u32>,
}

/// One servo set up.
#[derive(Clone, Debug, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AssignDone {
    /// The ID it answered at.
    pub from_id: u8,
    /// The rate it answered at.
    pub from_baud: u32,
    /// Its model, where the scan matched one.
    pub model: Option<String>,
    /// Its ID now.
    pub id: u8,
    /// Its rate now.
    pub baud: u32,
    /// The set-up jobs made (none when it already had the ID and rate).
    #[ts(type = "number[]")]
    pub jobs: Vec<u64>,
    /// What happened, for the user: "ID 1 → 3 at 1000000 baud; connect the next servo".
    pub message: String,
}

/// The protocols whose drives can be given an ID and a rate over their own bus.
fn setup_protocol(name: &str) -> Result<Protocol, ApiError> {
    let protocol = protocol_from_name(name)
        .ok_or_else(|| ApiError::Invalid(format!("unknown protocol {name:?}")))?;
    if protocol == Protocol::ModbusRtu {
        return Err(ApiError::Invalid(
            "Modbus RTU drives take their unit address and baud rate from vendor parameters \
             (often DIP switches or a keypad): set them there, then connect"
                .into(),
        ));
    }
    Ok(protocol)
}

/// The rates to look for a servo of `protocol` at: the usual ones first, then every
/// other rate the protocol can encode.
fn search_rates(protocol: Protocol) -> Vec<u32> {
    let mut rates = default_bauds(protocol);
    for rate in baud::rates(protocol) {
        if !rates.contains(&rate) {
            rates.push(rate);
        }
    }
    rates
}

impl Api {
    /// Runs set-up `step` on `drive` (checked by the bus and the link before anything is
    /// written; a reboot or reset must carry its confirmation) and says where the drive
    /// is now.
    pub async fn setup(&self, drive: DriveRef, step: SetupStep) -> Result<SetupDone, ApiError> {
        let outcome = self.engine.setup(drive, step).await?;
        Ok(SetupDone {
            job: outcome.job,
            drive: outcome.drive,
            baud: outcome.baud,
        })
    }

    /// Sets up the one servo on `request.port`: finds it, gives it `request.to` (and
    /// `request.baud`), and closes its link again so the next one can be connected.
    /// Refused, with nothing written, when the request is bad, the port is held by a
    /// link, no servo answers or more than one does.
    pub async fn setup_assign(&self, request: AssignRequest) -> Result<AssignDone, ApiError> {
        let protocol = setup_protocol(&request.protocol)?;
        let name = protocol_name(protocol);
        let port = request.port.trim();
        if port.is_empty() {
            return Err(ApiError::Invalid(
                "give the serial port the servo is on".into(),
            ));
        }
        if !(1..=252).contains(&request.to) {
            return Err(ApiError::Invalid(format!(
                "ID {} is outside 1..=252",
                request.to
            )));
        }
        if let Some(rate) = request.baud
            && baud::code_of_rate(protocol, rate).is_none()
        {
            let rates: Vec<String> = baud::rates(protocol).iter().map(u32::to_string).collect();
            return Err(ApiError::Invalid(format!(
                "a {name} servo cannot run at {rate} baud; it can at {}",
                rates.join(", ")
            )));
        }
        if let Some(link) = self.engine.links().iter().find(|l| l.port == port) {
            return Err(ApiError::Invalid(format!(
                "{port} is open on link {}: disconnect it first, then connect the servo alone",
                link.id
            )));
        }
        let mut found = None;
        for rate in search_rates(protocol) {
            let report = self.engine.scan(port, &[protocol], &[rate]).await?;
            if !report.drives.is_empty() {
                found = Some(report);
                break;
            }
        }
        let Some(report) = found else {
            return Err(ApiError::NotFound(format!(
                "no {name} servo answered on {port} at any rate ({}): check its power and \
                 wiring",
                search_rates(protocol)
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        if report.drives.len() > 1 || report.drives[0].id_conflict {
            let ids: Vec<String> = report.drives.iter().map(|d| d.id.to_string()).collect();
            let what = if report.drives.len() > 1 {
                format!(
                    "{} servos answer (IDs {})",
                    report.drives.len(),
                    ids.join(", ")
                )
            } else {
                format!("more than one servo answers ID {}", ids[0])
            };
            return Err(ApiError::Invalid(format!(
                "{what} on {port}: connect one servo at a time; nothing was changed"
            )));
        }
        let servo = report.drives[0].clone();
        let profile = match &servo.model {
            Some(model) => self.engine.profile_named(model)?,
            None => crate::builtin_profile(protocol)?,
        };
        let link = self
            .engine
            .connect_serial(port, protocol, servo.baud, profile, &[servo.id])
            .await?;
        let drive = DriveRef { link, id: servo.id };
        let steps = self.assign_steps(drive, request.to, request.baud).await;
        self.engine.disconnect(link).await;
        let (jobs, id, rate) = steps?;
        let baud_now = rate.unwrap_or(servo.baud);
        let message = if jobs.is_empty() {
            format!(
                "the servo already is ID {id} at {baud_now} baud; nothing was changed: connect \
                 the next servo"
            )
        } else {
            format!(
                "ID {} at {} baud → ID {id} at {baud_now} baud: connect the next servo",
                servo.id, servo.baud
            )
        };
        Ok(AssignDone {
            from_id: servo.id,
            from_baud: servo.baud,
            model: servo.model,
            id,
            baud: baud_now,
            jobs,
            message,
        })
    }

    /// The set-up jobs of one assignment on the servo's own link: torque off if it was
    /// on, the new ID, the new rate. The jobs made, the ID and the rate reached.
    async fn assign_steps(
        &self,
        drive: DriveRef,
        to: u8,
        rate: Option<u32>,
    ) -> Result<(Vec<u64>, u8, Option<u32>), ApiError> {
        let mut jobs = Vec::new();
        let mut drive = drive;
        if self
            .engine
            .drive_status(drive)
            .is_some_and(|status| status.enabled)
        {
            let state = self
                .engine
                .run(drivedeck_domain::Command::Disable { drive })
                .await?;
            if state != drivedeck_domain::JobState::Done {
                return Err(EngineError::Job(format!(
                    "switching the servo's torque off first ended {}",
                    state.name()
                ))
                .into());
            }
        }
        if to != drive.id {
            let done = self.engine.setup(drive, SetupStep::ChangeId { to }).await?;
            jobs.push(done.job);
            drive = done.drive;
        }
        let mut reached = None;
        if let Some(rate) = rate
            && Some(rate)
                != self
                    .engine
                    .links()
                    .iter()
                    .find(|l| l.id == drive.link)
                    .map(|l| l.baud)
        {
            let done = self
                .engine
                .setup(drive, SetupStep::ChangeBaud { baud: rate })
                .await?;
            jobs.push(done.job);
            reached = Some(done.baud);
        }
        Ok((jobs, drive.id, reached))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_rig::{engine_api, rig_turn};
    use super::super::{ErrorKind, JobQuery};
    use super::*;
    use drivedeck_proto::profile::Profile;
    use drivedeck_sim::{RigOptions, SimRig};

    /// Simulated `profile` servos `ids` at `baud` on a pty of their own (no link).
    fn servos(profile: &Profile, ids: &[u8], baud: u32) -> SimRig {
        let options = RigOptions {
            baud,
            ..RigOptions::default()
        };
        SimRig::spawn_with(profile, ids, options).expect("rig")
    }

    fn request(rig: &SimRig, protocol: &str, to: u8, baud: Option<u32>) -> AssignRequest {
        AssignRequest {
            port: rig.port().to_string_lossy().into_owned(),
            protocol: protocol.into(),
            to,
            baud,
        }
    }

    fn sim_ids(rig: &SimRig) -> Vec<u8> {
        rig.with_drives(|drives| drives.iter().map(|d| d.id()).collect())
    }

    fn sim_baud_code(rig: &SimRig) -> Vec<i64> {
        rig.with_drives(|drives| {
            drives
                .iter()
                .map(|d| d.raw_named(baud::BAUD_RATE).expect("a baud register"))
                .collect()
        })
    }

    /// The set-up jobs of the journal as (command, state, reason).
    fn setup_jobs(api: &Api) -> Vec<(String, String, String)> {
        api.engine().flush().expect("flush");
        let query: JobQuery = serde_json::from_value(serde_json::json!({})).expect("query");
        let jobs = serde_json::to_value(api.jobs(query).expect("jobs")).expect("json");
        jobs.as_array()
            .expect("jobs")
            .iter()
            .filter(|j| {
                matches!(
                    j["command"].as_str(),
                    Some("changeId" | "changeBaud" | "reboot" | "factoryReset")
                )
            })
            .map(|j| {
                let text = |k: &str| j[k].as_str().unwrap_or_default().to_string();
                (text("command"), text("state"), text("reason"))
            })
            .collect()
    }

    /// A lone servo at its factory ID and a rate it was left at: found there, given
    /// the new ID and rate, its link closed again; a scan finds it where it now is.
    async fn assign_one(profile: Profile, protocol: &str, from_baud: u32, to_baud: u32) {
        let dir = tempfile::tempdir().expect("dir");
        let _turn = rig_turn().await;
        let api = engine_api(&dir);
        let rig = servos(&profile, &[1], from_baud);
        let done = api
            .setup_assign(request(&rig, protocol, 7, Some(to_baud)))
            .await
            .expect("set up");
        assert_eq!((done.from_id, done.from_baud), (1, from_baud), "{done:?}");
        assert_eq!((done.id, done.baud), (7, to_baud), "{done:?}");
        assert_eq!(done.model.as_deref(), Some(profile.name.as_str()));
        assert_eq!(done.jobs.len(), 2);
        assert!(
            done.message.contains("connect the next"),
            "{}",
            done.message
        );
        assert_eq!(sim_ids(&rig), [7], "the servo has its new ID");
        let code = baud::code_of_rate(profile.protocol, to_baud).expect("a code");
        assert_eq!(sim_baud_code(&rig), [code], "and its new rate");
        assert!(api.engine().links().is_empty(), "its link is closed again");
        let jobs = setup_jobs(&api);
        assert_eq!(jobs.len(), 2, "{jobs:?}");
        assert_eq!(jobs[0].0, "changeBaud", "{jobs:?}");
        assert_eq!(
            jobs[1],
            ("changeId".into(), "done".into(), "ID 1 → 7".into())
        );
        let report = api
            .scan(&done_port(&rig), &[protocol.to_string()], &[to_baud])
            .await
            .expect("scan");
        let found: Vec<(u8, u32)> = report.drives.iter().map(|d| (d.id, d.baud)).collect();
        assert_eq!(found, [(7, to_baud)]);
        api.engine().shutdown().await;
    }

    fn done_port(rig: &SimRig) -> String {
        rig.port().to_string_lossy().into_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_xm430_gets_its_id_and_rate() {
        assign_one(Profile::xm430_w350(), "dynamixel2", 57_600, 1_000_000).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_ax12a_gets_its_id_and_rate() {
        assign_one(Profile::ax12a(), "dynamixel1", 1_000_000, 115_200).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_sts3215_gets_its_id_and_rate() {
        assign_one(Profile::sts3215(), "feetech", 1_000_000, 500_000).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_servo_that_has_the_id_already_is_left_alone() {
        let dir = tempfile::tempdir().expect("dir");
        let _turn = rig_turn().await;
        let api = engine_api(&dir);
        let rig = servos(&Profile::xm430_w350(), &[4], 1_000_000);
        let done = api
            .setup_assign(request(&rig, "dynamixel2", 4, None))
            .await
            .expect("nothing to do");
        assert!(done.jobs.is_empty(), "{done:?}");
        assert!(
            done.message.contains("nothing was changed"),
            "{}",
            done.message
        );
        assert!(setup_jobs(&api).is_empty());
        api.engine().shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_servo_that_is_not_alone_is_refused_with_nothing_written() {
        let dir = tempfile::tempdir().expect("dir");
        let _turn = rig_turn().await;
        let api = engine_api(&dir);
        let rig = servos(&Profile::xm430_w350(), &[1, 2], 57_600);
        let before = rig.counters().instructions().len();
        let error = api
            .setup_assign(request(&rig, "dynamixel2", 3, Some(1_000_000)))
            .await
            .expect_err("two servos");
        assert_eq!(error.kind(), ErrorKind::Invalid, "{error}");
        let text = error.to_string();
        assert!(text.contains("2 servos answer (IDs 1, 2)"), "{text}");
        assert!(text.contains("one servo at a time"), "{text}");
        assert_eq!(sim_ids(&rig), [1, 2]);
        let writes = rig.counters().instructions()[before..]
            .iter()
            .filter(|p| !matches!(p.instruction, 0x01 | 0x02 | 0x82 | 0x92))
            .count();
        assert_eq!(writes, 0, "only pings and reads reached the servos");
        assert!(setup_jobs(&api).is_empty());
        api.engine().shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_requests_are_refused_before_any_port_opens() {
        let dir = tempfile::tempdir().expect("dir");
        let api = engine_api(&dir);
        let ask = |protocol: &str, to: u8, baud: Option<u32>| AssignRequest {
            port: "/dev/does-not-exist".into(),
            protocol: protocol.into(),
            to,
            baud,
        };
        for (request, says) in [
            (ask("modbus-rtu", 3, None), "vendor parameters"),
            (ask("canbus", 3, None), "unknown protocol"),
            (ask("dynamixel2", 0, None), "outside 1..=252"),
            (ask("dynamixel2", 253, None), "outside 1..=252"),
            (ask("feetech", 3, Some(57_601)), "cannot run at 57601 baud"),
            (
                AssignRequest {
                    port: "  ".into(),
                    ..ask("dynamixel2", 3, None)
                },
                "give the serial port",
            ),
        ] {
            let error = api.setup_assign(request).await.expect_err("refused");
            assert_eq!(error.kind(), ErrorKind::Invalid, "{error}");
            assert!(error.to_string().contains(says), "{error} / {says}");
        }
        api.engine().shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_port_a_link_holds_is_refused_and_no_servo_is_not_found() {
        let dir = tempfile::tempdir().expect("dir");
        let _turn = rig_turn().await;
        let api = engine_api(&dir);
        let rig = servos(&Profile::xm430_w350(), &[1], 1_000_000);
        let port = done_port(&rig);
        api.engine()
            .connect_serial(
                &port,
                Protocol::Dynamixel2,
                1_000_000,
                Profile::xm430_w350(),
                &[1],
            )
            .await
            .expect("link");
        let error = api
            .setup_assign(request(&rig, "dynamixel2", 3, None))
            .await
            .expect_err("held");
        assert!(error.to_string().contains("disconnect it first"), "{error}");
        api.engine().disconnect(1).await;
        // A Feetech question on a bus of DYNAMIXEL servos: nobody answers.
        let error = api
            .setup_assign(request(&rig, "feetech", 3, None))
            .await
            .expect_err("none");
        assert_eq!(error.kind(), ErrorKind::NotFound, "{error}");
        assert!(
            error.to_string().contains("no feetech servo answered"),
            "{error}"
        );
        assert_eq!(sim_ids(&rig), [1]);
        api.engine().shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connected_drive_is_set_up_and_the_engine_follows_it() {
        let dir = tempfile::tempdir().expect("dir");
        let (api, _rig) = super::super::test_rig::sim_api(&dir).await;
        let drive = DriveRef { link: 1, id: 2 };
        let done = api
            .setup(drive, SetupStep::ChangeId { to: 9 })
            .await
            .expect("new ID");
        assert_eq!(done.drive, DriveRef { link: 1, id: 9 });
        // The parameter grid knows the drive under its new ID.
        assert!(api.engine().drive_profile(done.drive).is_some());
        assert!(api.engine().drive_profile(drive).is_none());
        let taken = api
            .setup(DriveRef { link: 1, id: 1 }, SetupStep::ChangeId { to: 9 })
            .await
            .expect_err("taken");
        assert!(taken.to_string().contains("taken"), "{taken}");
        let unconfirmed = api
            .setup(done.drive, SetupStep::Reboot { confirm: false })
            .await
            .expect_err("needs confirming");
        assert!(unconfirmed.to_string().contains("confirm"), "{unconfirmed}");
        api.engine().shutdown().await;
    }
}
