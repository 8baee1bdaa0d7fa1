//! Set-up jobs over a real pty against the simulator, for every protocol that has them:
//! a new ID (the link follows: its drive entry, its telemetry, the journal's old → new),
//! a taken ID refused before anything is written, a new baud rate (the port reopened at
//! it), a reboot (torque off), a factory reset (defaults, and the link following the
//! drive to its default ID and rate), and the Parameters grid pointing to the set-up job.

mod common;

use common::Journal;
use drivedeck_bus::link::LinkConfig;
use drivedeck_bus::{Bus, SubmitError};
use drivedeck_domain::{Clock, Command, DriveRef, Event, JobState, ResetKeep, SetupStep};
use drivedeck_proto::profile::Profile;
use drivedeck_sim::{RigOptions, SimRig};
use std::sync::Arc;
use std::time::Duration;

struct Setup {
    rig: SimRig,
    bus: Bus,
    journal: Arc<Journal>,
}

/// A rig of `profile` drives `rig_ids` at `baud`, and a link that knows `link_ids`.
async fn connect(profile: Profile, rig_ids: &[u8], link_ids: &[u8], baud: u32) -> Setup {
    let options = RigOptions {
        baud,
        ..RigOptions::default()
    };
    let rig = SimRig::spawn_with(&profile, rig_ids, options).expect("rig");
    let journal = Arc::new(Journal::default());
    let bus = Bus::new(journal.clone(), Clock::start(), 1);
    let profile = Arc::new(profile);
    let drives = link_ids
        .iter()
        .map(|id| (*id, Arc::clone(&profile)))
        .collect();
    let mut config = LinkConfig::new(rig.port().to_string_lossy(), baud, drives);
    config.poll_hz = 50.0;
    // Rare state polls: a test that switches torque on behind the link's back is not
    // overtaken by the link noticing it.
    config.state_hz = 0.1;
    bus.connect_serial(config).await.expect("link up");
    Setup { rig, bus, journal }
}

fn drive(id: u8) -> DriveRef {
    DriveRef { link: 1, id }
}

impl Setup {
    async fn run(&self, id: u8, step: SetupStep) -> JobState {
        let command = Command::Setup {
            drive: drive(id),
            step,
        };
        let job = self.bus.submit(command).expect("accepted");
        tokio::time::timeout(Duration::from_secs(10), job.outcome())
            .await
            .expect("the job ends")
    }

    fn link_ids(&self) -> Vec<u8> {
        self.bus.drives().iter().map(|d| d.drive.id).collect()
    }

    fn sim_ids(&self) -> Vec<u8> {
        self.rig
            .with_drives(|drives| drives.iter().map(|d| d.id()).collect())
    }

    /// Waits until telemetry of drive `id` arrives after event `from` of the journal.
    async fn telemetry_of(&self, id: u8, from: usize) {
        for _ in 0..200 {
            let seen = self.journal.0.lock().expect("journal")[from..]
                .iter()
                .any(|event| match event {
                    Event::Samples { samples } => samples.iter().any(|s| s.drive.id == id),
                    _ => false,
                });
            if seen {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no telemetry of drive {id}");
    }

    fn events(&self) -> usize {
        self.journal.0.lock().expect("journal").len()
    }

    fn readdressed(&self) -> Vec<(u8, u8)> {
        self.journal
            .0
            .lock()
            .expect("journal")
            .iter()
            .filter_map(|event| match event {
                Event::DriveReaddressed { from, to, .. } => Some((*from, *to)),
                _ => None,
            })
            .collect()
    }
}

/// A new ID on `profile`'s protocol: the drive answers there (and the link's telemetry
/// with it), the link and the journal follow, the old ID is gone.
async fn change_id_follows_the_drive(profile: Profile, baud: u32) {
    let setup = connect(profile, &[1], &[1], baud).await;
    setup.telemetry_of(1, 0).await;
    assert_eq!(
        setup.run(1, SetupStep::ChangeId { to: 5 }).await,
        JobState::Done
    );
    assert_eq!(setup.sim_ids(), [5], "the simulated drive has its new ID");
    assert_eq!(setup.link_ids(), [5], "the link follows it");
    assert_eq!(setup.readdressed(), [(1, 5)]);
    let mark = setup.events();
    setup.telemetry_of(5, mark).await;
    // The old ID is gone from the link: a job for it is refused.
    let stale = setup.bus.submit(Command::ReadParams {
        drive: drive(1),
        registers: vec![],
    });
    assert!(
        matches!(stale, Err(SubmitError::UnknownDrive(_))),
        "{stale:?}"
    );
    // The journal's reason column says old → new.
    let command = Command::Setup {
        drive: drive(1),
        step: SetupStep::ChangeId { to: 5 },
    };
    assert_eq!(command.reason().as_deref(), Some("ID 1 → 5"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamixel2_change_id() {
    change_id_follows_the_drive(Profile::xm430_w350(), 1_000_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamixel1_change_id() {
    change_id_follows_the_drive(Profile::ax12a(), 1_000_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feetech_change_id_with_the_eeprom_unlocked_around_it() {
    change_id_follows_the_drive(Profile::sts3215(), 1_000_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_id_is_refused_before_anything_is_written() {
    // Drives 1 and 2 on the bus; the link knows only drive 1.
    let setup = connect(Profile::xm430_w350(), &[1, 2], &[1], 1_000_000).await;
    let before = setup.rig.counters().instructions().len();
    let state = setup.run(1, SetupStep::ChangeId { to: 2 }).await;
    let JobState::Failed { reason } = state else {
        panic!("refused: {state:?}");
    };
    assert!(reason.contains("ID 2 is taken"), "{reason}");
    assert!(reason.contains("nothing was written"), "{reason}");
    assert_eq!(setup.sim_ids(), [1, 2], "nothing changed");
    // What reached the bus after the check began: the ping of ID 2, polls — no write.
    let heard = setup.rig.counters().instructions();
    let writes: Vec<_> = heard[before..]
        .iter()
        .filter(|p| p.instruction == 0x03)
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert!(
        heard[before..]
            .iter()
            .any(|p| p.id == 2 && p.instruction == 0x01),
        "the bus was asked"
    );
    assert_eq!(setup.link_ids(), [1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_another_drive_of_the_link_has_is_refused_at_submit() {
    let setup = connect(Profile::xm430_w350(), &[1, 2], &[1, 2], 1_000_000).await;
    let before = setup.rig.counters().instructions().len();
    let refused = setup.bus.submit(Command::Setup {
        drive: drive(1),
        step: SetupStep::ChangeId { to: 2 },
    });
    let Err(SubmitError::Invalid(reason)) = refused else {
        panic!("refused: {refused:?}");
    };
    assert!(reason.contains("ID 2 is taken"), "{reason}");
    // Nor can one drive of two change the rate they share.
    let refused = setup.bus.submit(Command::Setup {
        drive: drive(1),
        step: SetupStep::ChangeBaud { baud: 57_600 },
    });
    assert!(matches!(refused, Err(SubmitError::Invalid(ref r)) if r.contains("leave the others")));
    let writes = setup.rig.counters().instructions()[before..]
        .iter()
        .filter(|p| p.instruction == 0x03)
        .count();
    assert_eq!(writes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_baud_rate_reopens_the_port_and_the_drive_is_found_there() {
    let setup = connect(Profile::xm430_w350(), &[1], &[1], 1_000_000).await;
    assert_eq!(
        setup.run(1, SetupStep::ChangeBaud { baud: 57_600 }).await,
        JobState::Done
    );
    assert_eq!(setup.bus.link_baud(1), Some(57_600));
    assert_eq!(
        setup.rig.with_drives(|d| d[0].raw_named("Baud Rate")),
        Some(1),
        "57600 is code 1"
    );
    // The drive hears only frames at 57600 now: telemetry goes on, so the port is there.
    let mark = setup.events();
    setup.telemetry_of(1, mark).await;
    let up_at: Vec<u32> = setup
        .journal
        .0
        .lock()
        .expect("journal")
        .iter()
        .filter_map(|e| match e {
            Event::LinkUp { baud, .. } => Some(*baud),
            _ => None,
        })
        .collect();
    assert_eq!(
        up_at,
        [1_000_000, 57_600],
        "the link is announced at its new rate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reboot_switches_torque_off_and_resets_ram() {
    let setup = connect(Profile::xm430_w350(), &[1], &[1], 1_000_000).await;
    let refused = setup.bus.submit(Command::Setup {
        drive: drive(1),
        step: SetupStep::Reboot { confirm: false },
    });
    assert!(matches!(refused, Err(SubmitError::Invalid(ref r)) if r.contains("confirmation")));
    // Torque and LED on behind the link's back.
    setup.rig.with_drives(|d| {
        d[0].write(64, &[1]).expect("torque on");
        d[0].write(65, &[1]).expect("LED on");
    });
    assert_eq!(
        setup.run(1, SetupStep::Reboot { confirm: true }).await,
        JobState::Done
    );
    setup.rig.with_drives(|d| {
        assert!(!d[0].torque_enabled());
        assert_eq!(d[0].raw_named("LED"), Some(0));
        assert_eq!(d[0].id(), 1);
    });
    assert!(!setup.bus.drives()[0].enabled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_factory_reset_restores_the_defaults_and_the_link_follows_to_id_1_at_57600() {
    let setup = connect(Profile::xm430_w350(), &[3], &[3], 1_000_000).await;
    // A changed EEPROM entry (Return Delay Time 250 → 10).
    setup
        .rig
        .with_drives(|d| d[0].write(9, &[10]).expect("return delay"));
    assert_eq!(
        setup
            .run(
                3,
                SetupStep::FactoryReset {
                    keep: ResetKeep::IdAndBaud,
                    confirm: true
                }
            )
            .await,
        JobState::Done
    );
    let default_delay = Profile::xm430_w350()
        .register("Return Delay Time")
        .expect("register")
        .default;
    setup.rig.with_drives(|d| {
        assert_eq!(d[0].raw_named("Return Delay Time"), Some(default_delay));
        assert_eq!(d[0].id(), 3, "ID kept");
    });
    assert_eq!(setup.link_ids(), [3]);
    // Everything reset: the XM430 comes back as ID 1 at 57600, and the link with it.
    assert_eq!(
        setup
            .run(
                3,
                SetupStep::FactoryReset {
                    keep: ResetKeep::Nothing,
                    confirm: true
                }
            )
            .await,
        JobState::Done
    );
    assert_eq!(setup.sim_ids(), [1]);
    assert_eq!(setup.link_ids(), [1]);
    assert_eq!(setup.bus.link_baud(1), Some(57_600));
    assert_eq!(setup.readdressed(), [(3, 1)]);
    let mark = setup.events();
    setup.telemetry_of(1, mark).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_1_and_feetech_resets_and_what_they_lack() {
    // DYNAMIXEL 1.0: Reset restores the ID too (AX-12A: ID 1, 1 Mbaud); no reboot.
    let ax = connect(Profile::ax12a(), &[4], &[4], 1_000_000).await;
    let reboot = ax.bus.submit(Command::Setup {
        drive: drive(4),
        step: SetupStep::Reboot { confirm: true },
    });
    assert!(
        matches!(reboot, Err(SubmitError::Invalid(ref r)) if r.contains("not supported by this protocol")),
        "{reboot:?}"
    );
    let reset = SetupStep::FactoryReset {
        keep: ResetKeep::Nothing,
        confirm: true,
    };
    assert_eq!(ax.run(4, reset).await, JobState::Done);
    assert_eq!(ax.sim_ids(), [1]);
    assert_eq!(ax.link_ids(), [1]);
    // Feetech: parameter recovery keeps the ID; Return Delay Time back to its default.
    let sts = connect(Profile::sts3215(), &[6], &[6], 1_000_000).await;
    sts.rig
        .with_drives(|d| d[0].write(7, &[100]).expect("return delay"));
    let reset = SetupStep::FactoryReset {
        keep: ResetKeep::Id,
        confirm: true,
    };
    assert_eq!(sts.run(6, reset).await, JobState::Done);
    let default_delay = Profile::sts3215()
        .register("Return Delay Time")
        .expect("register")
        .default;
    sts.rig.with_drives(|d| {
        assert_eq!(d[0].id(), 6);
        assert_eq!(d[0].raw_named("Return Delay Time"), Some(default_delay));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_parameters_grid_points_id_and_baud_to_the_setup_job() {
    let setup = connect(Profile::xm430_w350(), &[1], &[1], 1_000_000).await;
    for register in ["ID", "Baud Rate"] {
        let refused = setup.bus.submit(Command::WriteParams {
            drive: drive(1),
            values: vec![(register.into(), 3.0)],
        });
        assert!(
            matches!(refused, Err(SubmitError::Invalid(ref r)) if r.contains("set-up job")),
            "{register}: {refused:?}"
        );
    }
}
