//! The engine headless against the simulator over a pty: every layer, no mocks.

use drivedeck_domain::{Command, DriveMode, DriveRef, JobState, Target};
use drivedeck_e2e::{
    DRIVE_1, DRIVE_2, enable, one_rig_at_a_time, outcome, queue_moves, sim_engine, wait_for_drive,
    wait_until,
};
use drivedeck_engine::{Engine, EngineConfig, EngineError};
use drivedeck_proto::profile::Protocol;
use drivedeck_store::{JobFilter, Reader};
use std::f64::consts::FRAC_PI_2;
use std::time::Duration;

fn channel(reader: &Reader, session: i64, drive: DriveRef, name: &str) -> i64 {
    reader
        .channels(session)
        .expect("channels")
        .into_iter()
        .find(|c| c.drive == drive && c.name == name)
        .unwrap_or_else(|| panic!("no {name} channel for {drive}"))
        .id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_move_and_the_store_holds_samples_converging_to_the_target() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;

    // Enabling takes the user's explicit arming first; one Arm allows one Enable.
    assert!(matches!(
        engine.submit(Command::Enable { drive: DRIVE_1 }),
        Err(EngineError::Submit(drivedeck_bus::SubmitError::Invalid(m))) if m.contains("not armed")
    ));
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    engine
        .run(Command::Disable { drive: DRIVE_1 })
        .await
        .expect("disable");
    assert!(
        engine.submit(Command::Enable { drive: DRIVE_1 }).is_err(),
        "the arming was used up"
    );
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    let moved = engine
        .run(Command::SetTarget {
            drive: DRIVE_1,
            target: Target::Position(FRAC_PI_2),
        })
        .await
        .expect("submit");
    assert_eq!(moved, JobState::Done);

    // The drive gets there, as seen through the store's projection.
    let row = wait_for_drive(&engine, DRIVE_1, "90°", |r| {
        r.position.is_some_and(|p| (p - FRAC_PI_2).abs() < 0.02)
            && r.velocity.is_some_and(|v| v.abs() < 0.05)
    })
    .await;
    assert!(row.status.as_ref().is_some_and(|s| s.enabled));
    engine.flush().expect("flush");

    // The recorded position channel starts near 0 and ends at the target.
    let reader = engine.reader().expect("reader");
    let position = channel(&reader, engine.session(), DRIVE_1, "position");
    let samples = reader.channel_samples(position).expect("samples");
    assert!(samples.len() > 50, "only {} samples", samples.len());
    assert!(
        samples[0].1.abs() < 0.05,
        "starts at rest: {}",
        samples[0].1
    );
    let last = samples.last().expect("last").1;
    assert!(
        (last - FRAC_PI_2).abs() < 0.02,
        "ends at the target: {last}"
    );
    assert!(samples.windows(2).all(|w| w[0].0 <= w[1].0), "time-ordered");
    // Drive 2 was never enabled: it stayed put.
    let other = channel(&reader, engine.session(), DRIVE_2, "position");
    let still = reader.channel_samples(other).expect("samples");
    assert!(still.iter().all(|(_, p)| p.abs() < 1e-3));

    // The job journal has both jobs, done, with their timestamps in order.
    let jobs = reader
        .jobs(&JobFilter {
            limit: 10,
            ..JobFilter::default()
        })
        .expect("jobs");
    let mine: Vec<_> = jobs
        .iter()
        .rev()
        .map(|j| (j.command.as_str(), j.state.as_str()))
        .collect();
    assert_eq!(
        mine,
        [
            ("connect", "done"),
            ("arm", "done"),
            ("enable", "done"),
            ("disable", "done"),
            ("arm", "done"),
            ("enable", "done"),
            ("setTarget", "done")
        ]
    );
    // A clean link: every exchange answered, round trips counted, a poll rate measured.
    let health = engine.link_health(1).expect("health");
    assert_eq!(
        (health.timeouts, health.corrupt, health.retries),
        (0, 0, 0),
        "{health:?}"
    );
    let round_trips: u64 = health.rtt_histogram.iter().sum();
    assert!(
        round_trips > 50 && round_trips <= health.exchanges,
        "{health:?}"
    );
    assert!(health.rtt_quantile(0.5).is_some());
    assert_eq!(health.poll_target_hz, 200.0);
    assert_eq!(health.adapter_warning, None, "a pty is no FTDI adapter");
    for job in &jobs {
        let finished = job.finished_us.expect("finished");
        if job.command == "arm" {
            // Arming sends nothing to the drive.
            assert_eq!(job.sent_us, None);
            assert!(job.queued_us <= finished);
        } else {
            let sent = job.sent_us.expect("sent");
            assert!(job.queued_us <= sent && sent <= finished);
        }
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estop_stops_every_drive_and_cancels_queued_motion() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    for drive in [DRIVE_1, DRIVE_2] {
        assert_eq!(enable(&engine, drive).await, JobState::Done);
    }
    let target = Target::Position(6.0);
    assert_eq!(
        engine
            .run(Command::SetTarget {
                drive: DRIVE_1,
                target
            })
            .await
            .expect("move"),
        JobState::Done
    );
    wait_for_drive(&engine, DRIVE_1, "moving", |r| {
        r.velocity.is_some_and(|v| v > 1.0)
    })
    .await;

    // A burst of motion jobs, then an E-stop: it jumps the queue.
    let queued = queue_moves(&engine, DRIVE_2, 200);
    let estop = engine.run(Command::EStop).await.expect("estop");
    assert_eq!(estop, JobState::Done);

    let mut cancelled = 0;
    let mut done = 0;
    for job in queued {
        match outcome(job).await {
            JobState::Cancelled { reason } => {
                assert_eq!(reason, "E-stop");
                cancelled += 1;
            }
            JobState::Done => done += 1,
            other => panic!("unexpected end for a queued move: {other:?}"),
        }
    }
    assert_eq!(cancelled + done, 200);
    assert!(cancelled > 0, "the E-stop ran ahead of the queued moves");

    // Both drives report torque off, and drive 1 coasts to a stop.
    for drive in [DRIVE_1, DRIVE_2] {
        wait_for_drive(&engine, drive, "disabled", |r| {
            r.status.as_ref().is_some_and(|s| !s.enabled)
        })
        .await;
    }
    wait_for_drive(&engine, DRIVE_1, "stopped", |r| {
        r.velocity.is_some_and(|v| v.abs() < 1e-3)
    })
    .await;
    engine.flush().expect("flush");
    let jobs = engine
        .reader()
        .expect("reader")
        .jobs(&JobFilter {
            limit: 1000,
            ..JobFilter::default()
        })
        .expect("jobs");
    assert!(
        jobs.iter()
            .all(|j| !matches!(j.state.as_str(), "queued" | "sent")),
        "all ended"
    );
    assert_eq!(
        jobs.iter().filter(|j| j.state == "cancelled").count(),
        cancelled
    );
    // No move ran after the E-stop: every done move finished before it did.
    let estop_done = jobs
        .iter()
        .find(|j| j.command == "eStop")
        .and_then(|j| j.finished_us)
        .expect("E-stop journaled");
    let moves_done: Vec<_> = jobs
        .iter()
        .filter(|j| j.command == "setTarget" && j.state == "done")
        .collect();
    assert_eq!(
        moves_done.len(),
        done + 1,
        "the 200 queued plus the first move"
    );
    assert!(
        moves_done
            .iter()
            .all(|j| j.finished_us.expect("finished") <= estop_done)
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_commands_are_refused_before_the_wire_and_not_journaled() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    let refused = [
        Command::SetTarget {
            drive: DRIVE_1,
            target: Target::Position(7.0),
        }, // > 360°
        Command::SetTarget {
            drive: DRIVE_1,
            target: Target::Position(-0.1),
        },
        Command::SetTarget {
            drive: DRIVE_1,
            target: Target::Position(f64::NAN),
        },
        Command::SetTarget {
            drive: DRIVE_1,
            target: Target::Velocity(1.0),
        }, // wrong mode
        Command::Enable {
            drive: DriveRef { link: 1, id: 9 },
        }, // no such drive
        Command::Enable {
            drive: DriveRef { link: 4, id: 1 },
        }, // no such link
    ];
    for command in refused {
        match engine.submit(command.clone()) {
            Err(EngineError::Submit(e)) => assert!(!e.to_string().is_empty()),
            Err(other) => panic!("{command:?}: unexpected error {other}"),
            Ok(_) => panic!("{command:?} was accepted"),
        }
    }
    // Link-level jobs are not queued on a link: refused the same way.
    let disconnect = Command::Disconnect { link: 1 };
    assert!(matches!(
        engine.submit(disconnect),
        Err(EngineError::Submit(_))
    ));
    engine.flush().expect("flush");
    let journaled: Vec<String> = engine
        .reader()
        .expect("reader")
        .jobs(&JobFilter {
            limit: 10,
            ..JobFilter::default()
        })
        .expect("jobs")
        .into_iter()
        .map(|job| job.command)
        .collect();
    assert_eq!(
        journaled,
        ["connect"],
        "only the rig's connection is journaled"
    );

    // Mode changes need the drive disabled; then velocity targets work.
    assert_eq!(enable(&engine, DRIVE_2).await, JobState::Done);
    let mode = Command::SetMode {
        drive: DRIVE_2,
        mode: DriveMode::Velocity,
    };
    assert!(engine.submit(mode.clone()).is_err());
    engine
        .run(Command::Disable { drive: DRIVE_2 })
        .await
        .expect("disable");
    assert_eq!(engine.run(mode).await.expect("mode"), JobState::Done);
    assert_eq!(enable(&engine, DRIVE_2).await, JobState::Done);
    let spin = Command::SetTarget {
        drive: DRIVE_2,
        target: Target::Velocity(2.0),
    };
    assert_eq!(engine.run(spin).await.expect("spin"), JobState::Done);
    wait_for_drive(&engine, DRIVE_2, "2 rad/s", |r| {
        r.velocity.is_some_and(|v| (v - 2.0).abs() < 0.1)
    })
    .await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_ui_gets_the_drives_stopped_at_the_simulator_and_never_re_enabled() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let mut config = EngineConfig::new(dir.path().join("hb.db"));
    config.heartbeat_timeout = Some(Duration::from_millis(300));
    let engine = Engine::start(config).expect("engine");
    engine
        .connect_sim_rig(Protocol::Dynamixel2, &[1, 2])
        .await
        .expect("rig");
    let torque = |engine: &Engine| {
        engine
            .inspect_sim(1, |drives| {
                drives
                    .iter()
                    .map(|d| d.torque_enabled())
                    .collect::<Vec<_>>()
            })
            .expect("sim rig on link 1")
    };

    // While the UI beats, an enabled drive stays enabled.
    engine.heartbeat();
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    for _ in 0..10 {
        engine.heartbeat();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(torque(&engine), [true, false]);

    // Silence from the last beat on: within the timeout plus a check period the drive
    // is off at the far end, and not before the timeout.
    engine.heartbeat();
    let silent = wait_until(
        "a safe stop after silence",
        Duration::from_secs(3),
        Duration::from_millis(20),
        || !torque(&engine)[0],
    )
    .await;
    assert!(
        silent >= Duration::from_millis(300),
        "stopped before the timeout"
    );

    // It stays off once heartbeats resume: nothing re-enables a drive on its own.
    for _ in 0..5 {
        engine.heartbeat();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(torque(&engine), [false, false]);
    engine.flush().expect("flush");
    let jobs = engine
        .reader()
        .expect("reader")
        .jobs(&JobFilter {
            limit: 10,
            ..JobFilter::default()
        })
        .expect("jobs");
    let stop = jobs
        .iter()
        .find(|j| j.command == "safeStop")
        .expect("journaled");
    assert_eq!(stop.state, "done");
    assert!(stop.detail.contains("no heartbeat"), "{}", stop.detail);
    // The journal's reason column (what the UI's stop banner reads) says why.
    let reason = stop.reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("no heartbeat from the UI for ")
            && reason.ends_with("while a drive was enabled"),
        "{reason:?}"
    );
    assert_eq!(
        jobs.iter().filter(|j| j.command == "safeStop").count(),
        1,
        "one stop per silence"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_drives_lose_the_link_fail_its_jobs_and_come_back_disabled() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    assert!(engine.link_up(1));

    // The cable breaks on the drives' side: nothing answers any more.
    engine
        .with_sim_rig(1, |rig| rig.set_muted(true))
        .expect("rig");
    let stuck = engine
        .submit(Command::SetTarget {
            drive: DRIVE_1,
            target: Target::Position(1.0),
        })
        .expect("queued before the loss was noticed");
    let outcome = outcome(stuck).await;
    assert!(
        matches!(&outcome, JobState::TimedOut | JobState::Failed { .. }),
        "a job on a dead link ends, it does not hang: {outcome:?}"
    );
    wait_until(
        "link loss detected",
        Duration::from_secs(3),
        Duration::from_millis(10),
        || !engine.link_up(1),
    )
    .await;
    // The health counters saw it: timeouts on the link, missed replies per drive.
    let health = engine.link_health(1).expect("health");
    assert!(health.timeouts >= 5, "{health:?}");
    assert!(
        health.drives[&1].missed > 0 && health.drives[&2].missed > 0,
        "{health:?}"
    );
    assert!(health.drives[&1].replies > 0, "{health:?}");
    // While it is down, commands are refused before the wire.
    assert!(matches!(
        engine.submit(Command::Enable { drive: DRIVE_2 }),
        Err(EngineError::Submit(drivedeck_bus::SubmitError::LinkDown(_)))
    ));
    // The drive itself kept its torque on (only the wire broke)…
    let torque = |engine: &Engine| {
        engine
            .inspect_sim(1, |drives| {
                drives
                    .iter()
                    .map(|d| d.torque_enabled())
                    .collect::<Vec<_>>()
            })
            .expect("rig")
    };
    assert_eq!(torque(&engine), [true, false]);

    // …and when the wire heals, the link comes back with every drive safe-stopped.
    engine
        .with_sim_rig(1, |rig| rig.set_muted(false))
        .expect("rig");
    wait_until(
        "reconnected",
        Duration::from_secs(5),
        Duration::from_millis(10),
        || engine.link_up(1),
    )
    .await;
    assert_eq!(
        torque(&engine),
        [false, false],
        "nothing re-enabled, drive 1 switched off"
    );
    let row = wait_for_drive(&engine, DRIVE_1, "disabled", |r| {
        r.status.as_ref().is_some_and(|s| !s.enabled)
    })
    .await;
    assert!(row.status.is_some());
    // Enabling again is the user's act, and works.
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    engine.flush().expect("flush");
    let reader = engine.reader().expect("reader");
    assert!(
        reader
            .jobs(&JobFilter {
                limit: 20,
                ..JobFilter::default()
            })
            .expect("jobs")
            .iter()
            .all(|j| !matches!(j.state.as_str(), "queued" | "sent"))
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_port_fails_pending_jobs_with_link_lost() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    let jobs = queue_moves(&engine, DRIVE_2, 50);
    engine
        .with_sim_rig(1, drivedeck_sim::SimRig::vanish)
        .expect("rig");
    for job in jobs {
        match outcome(job).await {
            JobState::Done => {}
            JobState::Failed { reason } => assert!(reason.starts_with("link lost"), "{reason}"),
            JobState::TimedOut => {}
            other => panic!("unexpected: {other:?}"),
        }
    }
    wait_until(
        "link loss detected",
        Duration::from_secs(3),
        Duration::from_millis(10),
        || !engine.link_up(1),
    )
    .await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_watchdog_armed_at_enable_stops_a_drive_that_hears_nothing() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    let mode = Command::SetMode {
        drive: DRIVE_1,
        mode: DriveMode::Velocity,
    };
    assert_eq!(engine.run(mode).await.expect("mode"), JobState::Done);
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    let spin = Command::SetTarget {
        drive: DRIVE_1,
        target: Target::Velocity(3.0),
    };
    assert_eq!(engine.run(spin).await.expect("spin"), JobState::Done);
    let armed = engine
        .inspect_sim(1, |d| d[0].raw(drivedeck_proto::profile::Role::BusWatchdog))
        .expect("rig");
    assert!(armed > 0, "Enable armed the watchdog ({armed})");
    // Running and watched: the telemetry polls keep the watchdog fed.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let (velocity, tripped) = engine
        .inspect_sim(1, |d| (d[0].motor().velocity, d[0].watchdog_tripped()))
        .expect("rig");
    assert!(velocity > 2.5 && !tripped, "{velocity} {tripped}");
    // Half a second of polling later, an achieved poll rate has been published.
    assert!(engine.link_health(1).expect("health").poll_hz > 0.0);

    // DriveDeck goes silent (here: the wire stops carrying its bytes).
    engine
        .with_sim_rig(1, |rig| rig.set_deaf(true))
        .expect("rig");
    wait_until(
        "the watchdog tripped and the drive at rest",
        Duration::from_secs(2),
        Duration::from_millis(10),
        || {
            let (velocity, tripped) = engine
                .inspect_sim(1, |d| (d[0].motor().velocity, d[0].watchdog_tripped()))
                .expect("rig");
            tripped && velocity.abs() < 0.05
        },
    )
    .await;
    engine
        .with_sim_rig(1, |rig| rig.set_deaf(false))
        .expect("rig");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jog_moves_only_while_it_is_renewed() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    let jog = Command::Jog {
        drive: DRIVE_1,
        velocity: 3.0,
        hold_ms: 300,
    };
    // Refused while disabled, and in position mode.
    assert!(engine.submit(jog.clone()).is_err());
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    assert!(
        engine.submit(jog.clone()).is_err(),
        "position mode cannot jog"
    );
    engine
        .run(Command::Disable { drive: DRIVE_1 })
        .await
        .expect("disable");
    let mode = Command::SetMode {
        drive: DRIVE_1,
        mode: DriveMode::Velocity,
    };
    assert_eq!(engine.run(mode).await.expect("mode"), JobState::Done);
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    let too_long = Command::Jog {
        drive: DRIVE_1,
        velocity: 3.0,
        hold_ms: 5000,
    };
    assert!(engine.submit(too_long).is_err());

    // Held: renewed every 100 ms for a second, it spins.
    for _ in 0..10 {
        assert_eq!(engine.run(jog.clone()).await.expect("jog"), JobState::Done);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let velocity = |engine: &Engine| {
        engine
            .inspect_sim(1, |d| d[0].motor().velocity)
            .expect("rig")
    };
    assert!(velocity(&engine) > 2.5, "{}", velocity(&engine));

    // Released: within the hold time it comes to rest by itself, torque still on.
    wait_until(
        "at rest after the jog's hold time",
        Duration::from_secs(2),
        Duration::from_millis(10),
        || velocity(&engine).abs() <= 0.05,
    )
    .await;
    assert!(
        engine
            .inspect_sim(1, |d| d[0].torque_enabled())
            .expect("rig")
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_estop_does_not_wait_for_a_silent_drive_or_a_retry() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    let goal = Command::SetTarget {
        drive: DRIVE_1,
        target: Target::Position(2.0),
    };
    let goal_address = drivedeck_proto::profile::Profile::xm430_w350()
        .role(drivedeck_proto::profile::Role::GoalPosition)
        .expect("goal")
        .address;
    // The drives stop answering: a write now waits its reply timeout, then retries.
    engine
        .with_sim_rig(1, |rig| rig.set_muted(true))
        .expect("rig");
    let stuck = engine.submit(goal).expect("queued");
    // Wait until the rig has heard the write (first attempt), then E-stop.
    let heard_write = |engine: &Engine| {
        engine
            .with_sim_rig(1, |rig| {
                rig.counters()
                    .instructions()
                    .iter()
                    .filter(|p| {
                        p.instruction == drivedeck_proto::dxl2::instruction::WRITE
                            && p.params.get(..2) == Some(&goal_address.to_le_bytes()[..])
                    })
                    .count()
            })
            .expect("rig")
    };
    wait_until(
        "the write reached the rig",
        Duration::from_secs(3),
        Duration::from_millis(1),
        || heard_write(&engine) > 0,
    )
    .await;
    let estop = engine.submit(Command::EStop).expect("estop");
    assert!(matches!(outcome(stuck).await, JobState::TimedOut));
    let _ = outcome(estop).await; // unconfirmed: the drives cannot answer
    // On the wire: the goal write once, then the broadcast torque-off — no retry before it.
    let log = engine
        .with_sim_rig(1, |rig| rig.counters().instructions())
        .expect("rig");
    let first_write = log
        .iter()
        .position(|p| {
            p.instruction == drivedeck_proto::dxl2::instruction::WRITE
                && p.id == 1
                && p.params.get(..2) == Some(&goal_address.to_le_bytes()[..])
        })
        .expect("the goal write");
    let torque_off = log
        .iter()
        .position(|p| {
            p.id == drivedeck_proto::dxl2::BROADCAST_ID
                && p.instruction == drivedeck_proto::dxl2::instruction::WRITE
        })
        .expect("the broadcast torque-off");
    assert!(first_write < torque_off);
    assert_eq!(
        heard_write(&engine),
        1,
        "the write was not retried ahead of the E-stop"
    );
    assert!(
        log[first_write + 1..torque_off]
            .iter()
            .all(|p| p.instruction != drivedeck_proto::dxl2::instruction::WRITE),
        "nothing but (at most) polls between the write and the stop: {:?}",
        &log[first_write..=torque_off]
    );
    engine
        .with_sim_rig(1, |rig| rig.set_muted(false))
        .expect("rig");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_recording_holds_its_samples_and_stopping_it_keeps_recording() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    wait_for_drive(&engine, DRIVE_1, "seen", |r| r.position.is_some()).await;
    let live = engine.session();
    assert!(
        engine.start_session("  ", "").is_err(),
        "a recording needs a name"
    );
    assert_eq!(engine.session(), live, "a refused start changes nothing");
    let named = engine
        .start_session("step test", "kp 8, no load")
        .expect("start");
    assert_ne!(named, live);
    // The drives are known in the new session at once, before any of them changes.
    let row = wait_for_drive(&engine, DRIVE_2, "carried over", |r| r.status.is_some()).await;
    assert_eq!(row.status.expect("status").model, "XM430-W350");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = engine.stop_session().expect("stop");
    assert_ne!(after, named);
    engine.flush().expect("flush");
    let reader = engine.reader().expect("reader");
    let recorded = reader.session(named).expect("named session");
    assert_eq!(recorded.notes, "kp 8, no load");
    assert!(recorded.stopped_us.is_some(), "stopped");
    assert!(recorded.samples > 50, "{} samples", recorded.samples);
    let automatic = reader.session(after).expect("automatic session");
    assert!(automatic.name.starts_with("Live "), "{}", automatic.name);
    assert_eq!(automatic.stopped_us, None);
    // Samples keep flowing into the automatic session.
    let position = loop {
        if let Some(c) = reader
            .channels(after)
            .expect("channels")
            .into_iter()
            .find(|c| c.drive == DRIVE_1 && c.name == "position")
        {
            break c.id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for _ in 0..200 {
        engine.flush().expect("flush");
        if reader.channel_end(position).expect("end") > 10 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(reader.channel_end(position).expect("end") > 10);
    let drives = reader.session_drives(named).expect("drives used");
    assert_eq!(drives.len(), 2);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_scan_and_disconnect_are_journaled_jobs_with_their_outcome() {
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    let port = engine.links()[0].port.clone();
    // The link holds its port exclusively: a scan of it fails, with the reason journaled.
    let scan = engine
        .scan(&port, &[Protocol::Dynamixel2], &[1_000_000])
        .await;
    let scan_error = scan.expect_err("a held port cannot be scanned").to_string();
    let missing = engine
        .connect_serial(
            "/dev/drivedeck-no-such-port",
            Protocol::Dynamixel2,
            57_600,
            drivedeck_proto::profile::Profile::xm430_w350(),
            &[3],
        )
        .await
        .expect_err("no such port")
        .to_string();
    // A job with a class and a deadline carries both into the journal.
    let options = drivedeck_bus::JobOptions {
        priority: drivedeck_domain::Priority::Safety,
        deadline: Some(Duration::from_secs(2)),
    };
    let disable = engine
        .submit_with(Command::Disable { drive: DRIVE_1 }, options)
        .expect("disable");
    assert_eq!(outcome(disable).await, JobState::Done);
    assert!(engine.disconnect(1).await, "the rig's link closes");
    assert!(!engine.disconnect(1).await, "it is gone");
    engine.flush().expect("flush");
    let mut jobs = engine
        .reader()
        .expect("reader")
        .jobs(&JobFilter::default())
        .expect("jobs");
    jobs.reverse();
    let summary: Vec<(&str, &str, Option<&str>)> = jobs
        .iter()
        .map(|j| (j.command.as_str(), j.state.as_str(), j.reason.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("connect", "done", None),
            ("scan", "failed", Some(scan_error.as_str())),
            ("connect", "failed", Some(missing.as_str())),
            ("disable", "done", None),
            ("disconnect", "done", None),
            ("disconnect", "failed", Some("there is no link 1")),
        ]
    );
    let connect = &jobs[0];
    assert!(connect.detail.contains(&port), "{}", connect.detail);
    assert!(connect.sent_us.is_some() && connect.finished_us >= connect.sent_us);
    assert_eq!(jobs[4].link, Some(1));
    let disable = &jobs[3];
    assert_eq!(disable.priority, "safety");
    let deadline = disable.deadline_us.expect("a deadline") - disable.queued_us;
    assert!(
        (1_999_000..=2_001_000).contains(&deadline),
        "deadline {deadline} µs after queueing"
    );
    assert_eq!(jobs[0].priority, "user");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soft_limits_narrow_the_drives_range_and_refuse_before_the_wire() {
    use drivedeck_domain::SoftLimits;
    let _rig = one_rig_at_a_time().await;
    let dir = tempfile::tempdir().expect("dir");
    let engine = sim_engine(&dir, Protocol::Dynamixel2).await;
    let soft = |position: Option<(f64, f64)>, velocity: Option<f64>| Command::SetSoftLimits {
        drive: DRIVE_1,
        limits: SoftLimits { position, velocity },
    };
    // Soft limits can only narrow the drive's own, and must make sense.
    for bad in [
        soft(Some((-1.0, 1.0)), None),
        soft(Some((2.0, 1.0)), None),
        soft(Some((f64::NAN, 1.0)), None),
        soft(None, Some(0.0)),
        soft(None, Some(1_000.0)),
    ] {
        match engine.submit(bad.clone()) {
            Err(EngineError::Submit(e)) => assert!(!e.to_string().is_empty()),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert_eq!(
        engine
            .run(soft(Some((1.0, 2.0)), None))
            .await
            .expect("limits"),
        JobState::Done
    );
    let stored = wait_for_drive(&engine, DRIVE_1, "soft limits in the store", |r| {
        r.status
            .as_ref()
            .is_some_and(|s| s.soft_limits.position == Some((1.0, 2.0)))
    })
    .await;
    assert_eq!(
        stored.status.expect("status").effective_position_limits(),
        (1.0, 2.0)
    );
    assert_eq!(enable(&engine, DRIVE_1).await, JobState::Done);
    let goal_writes = || {
        engine
            .inspect_sim(1, |drives| drives[0].raw_named("Goal Position"))
            .flatten()
    };
    let before = goal_writes();
    let outside = Command::SetTarget {
        drive: DRIVE_1,
        target: Target::Position(2.5),
    };
    let refused = engine.submit(outside.clone()).expect_err("refused");
    assert!(refused.to_string().contains("soft limits"), "{refused}");
    assert_eq!(goal_writes(), before, "nothing reached the drive");
    let inside = Command::SetTarget {
        drive: DRIVE_1,
        target: Target::Position(1.5),
    };
    assert_eq!(engine.run(inside).await.expect("inside"), JobState::Done);
    // Cleared, the drive's own range applies again.
    assert_eq!(
        engine.run(soft(None, None)).await.expect("clear"),
        JobState::Done
    );
    assert_eq!(engine.run(outside).await.expect("now fine"), JobState::Done);
    engine.shutdown().await;
}
