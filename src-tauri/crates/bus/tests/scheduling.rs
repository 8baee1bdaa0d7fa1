//! Scheduling on a link, on tokio's paused clock: priorities, deadlines, telemetry
//! under a long queue, and an E-stop overtaking ten thousand queued jobs.
//!
//! The link runs over an in-memory pipe ([`Bus::attach`]); on the far side a peer task
//! answers with the simulator's own DYNAMIXEL 2.0 responder and drive tables, sleeping
//! each reply's wire time and return delay on the (paused, auto-advancing) clock. So the
//! bytes are real, the timing is virtual and every run is the same.

mod common;

use bytes::BytesMut;
use common::{BROADCAST, Journal, WRITE};
use drivedeck_bus::link::LinkConfig;
use drivedeck_bus::{Bus, JobOptions};
use drivedeck_domain::{Clock, Command, DriveRef, JobState, Priority};
use drivedeck_proto::profile::{Profile, Protocol};
use drivedeck_sim::responder::{self, HeardPacket};
use drivedeck_sim::{RigOptions, SimDrive};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::Instant;

const BAUD: u32 = 1_000_000;
const DRIVE_1: DriveRef = DriveRef { link: 1, id: 1 };
/// DYNAMIXEL 2.0 Read instruction.
const READ: u8 = 0x02;
/// DYNAMIXEL 2.0 Sync Read instruction (the telemetry and state polls).
const SYNC_READ: u8 = 0x82;

type Shared<T> = Arc<Mutex<T>>;

/// The far side of the pipe: decodes instructions, answers from the simulated tables.
async fn peer(
    mut io: DuplexStream,
    drives: Shared<Vec<SimDrive>>,
    heard: Shared<Vec<HeardPacket>>,
    heard_at: Shared<Vec<Instant>>,
) {
    let mut responder = responder::for_protocol(Protocol::Dynamixel2, &RigOptions::default())
        .expect("a DYNAMIXEL 2.0 responder");
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        match io.read_buf(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        loop {
            let packet = match responder.decode(&mut buf) {
                Ok(Some(packet)) => packet,
                Ok(None) => break,
                Err(_) => continue,
            };
            heard.lock().expect("heard").push(packet.clone());
            heard_at.lock().expect("heard at").push(Instant::now());
            let replies = responder.respond(&mut drives.lock().expect("drives"), &packet);
            for reply in replies {
                let wire =
                    Duration::from_secs_f64(reply.bytes.len() as f64 * 10.0 / f64::from(BAUD));
                tokio::time::sleep(reply.delay + wire).await;
                if io.write_all(&reply.bytes).await.is_err() {
                    return;
                }
            }
        }
    }
}

struct Rig {
    bus: Bus,
    journal: Arc<Journal>,
    drives: Shared<Vec<SimDrive>>,
    heard: Shared<Vec<HeardPacket>>,
    /// When each heard frame was decoded (the paused clock's time).
    heard_at: Shared<Vec<Instant>>,
}

async fn rig() -> Rig {
    rig_polling(LinkConfig::new("memory", BAUD, Vec::new()).poll_hz).await
}

/// The rig with telemetry asked for at `poll_hz`.
async fn rig_polling(poll_hz: f64) -> Rig {
    let profile = Profile::xm430_w350();
    let drives: Shared<Vec<SimDrive>> = Arc::new(Mutex::new(vec![
        SimDrive::new(profile.clone(), 1),
        SimDrive::new(profile.clone(), 2),
    ]));
    let heard: Shared<Vec<HeardPacket>> = Arc::default();
    let heard_at: Shared<Vec<Instant>> = Arc::default();
    let (near, far) = tokio::io::duplex(4096);
    tokio::spawn(peer(
        far,
        Arc::clone(&drives),
        Arc::clone(&heard),
        Arc::clone(&heard_at),
    ));
    let journal = Arc::new(Journal::default());
    let bus = Bus::new(journal.clone(), Clock::start(), 1);
    let profile = Arc::new(profile);
    let mut config = LinkConfig::new(
        "memory",
        BAUD,
        vec![(1, Arc::clone(&profile)), (2, profile)],
    );
    config.poll_hz = poll_hz;
    let link = bus.attach(near, config).await.expect("link up");
    assert_eq!(link, 1);
    Rig {
        bus,
        journal,
        drives,
        heard,
        heard_at,
    }
}

impl Rig {
    /// Values written to `address` of drive 1 since `from`, in the order heard.
    fn writes_to(&self, from: usize, address: u16) -> Vec<Vec<u8>> {
        self.heard.lock().expect("heard")[from..]
            .iter()
            .filter(|p| p.id == 1 && p.instruction == WRITE)
            .filter(|p| p.params.get(..2) == Some(&address.to_le_bytes()))
            .map(|p| p.params[2..].to_vec())
            .collect()
    }

    fn heard_len(&self) -> usize {
        self.heard.lock().expect("heard").len()
    }

    fn sim_raw(&self, name: &str) -> i64 {
        self.drives.lock().expect("drives")[0]
            .raw_named(name)
            .expect("entry")
    }

    /// Every job ended in exactly one terminal state, the last one it had.
    fn assert_one_terminal_state_each(&self) {
        for (job, states) in self.journal.states() {
            let terminal = states.iter().filter(|s| s.is_terminal()).count();
            assert_eq!(terminal, 1, "{job}: {states:?}");
            assert!(
                states.last().is_some_and(JobState::is_terminal),
                "{job}: {states:?}"
            );
        }
    }
}

fn p_gain(value: f64) -> Command {
    Command::WriteParams {
        drive: DRIVE_1,
        values: vec![("Position P Gain".into(), value)],
    }
}

#[tokio::test(start_paused = true)]
async fn a_safety_disable_overtakes_queued_user_jobs_which_keep_their_order() {
    let rig = rig().await;
    let gain = Profile::xm430_w350()
        .register("Position P Gain")
        .expect("register")
        .address;
    let torque = 64u16;
    assert_eq!(
        rig.bus
            .submit(Command::Arm { drive: DRIVE_1 })
            .expect("arm")
            .outcome()
            .await,
        JobState::Done
    );
    assert_eq!(
        rig.bus
            .submit(Command::Enable { drive: DRIVE_1 })
            .expect("enable")
            .outcome()
            .await,
        JobState::Done
    );
    let from = rig.heard_len();
    // Five user writes, then a supervisor's Disable, all queued before the link runs.
    let users: Vec<_> = (0..5)
        .map(|i| {
            rig.bus
                .submit(p_gain(f64::from(100 + i)))
                .expect("user write")
        })
        .collect();
    let safety = JobOptions {
        priority: Priority::Safety,
        deadline: None,
    };
    let disable = rig
        .bus
        .submit_with(Command::Disable { drive: DRIVE_1 }, safety)
        .expect("safety disable");
    assert_eq!(disable.outcome().await, JobState::Done);
    for user in users {
        assert_eq!(user.outcome().await, JobState::Done);
    }
    // The torque-off write went out before any of the user writes, which went out in
    // the order they were submitted.
    let heard = rig.heard.lock().expect("heard")[from..].to_vec();
    let first = |address: u16| {
        heard
            .iter()
            .position(|p| {
                p.instruction == WRITE && p.params.get(..2) == Some(&address.to_le_bytes())
            })
            .expect("written")
    };
    assert!(first(torque) < first(gain), "{heard:?}");
    let gains: Vec<Vec<u8>> = rig.writes_to(from, gain);
    let expected: Vec<Vec<u8>> = (100u16..105).map(|v| v.to_le_bytes().to_vec()).collect();
    assert_eq!(gains, expected);
    assert_eq!(rig.sim_raw("Position P Gain"), 104);
    assert!(!rig.drives.lock().expect("drives")[0].torque_enabled());
    rig.assert_one_terminal_state_each();

    // A safety job may not move a drive; a user job may not claim the E-stop class.
    assert!(
        rig.bus
            .submit_with(Command::Enable { drive: DRIVE_1 }, safety)
            .is_err()
    );
    let estop_class = JobOptions {
        priority: Priority::EStop,
        deadline: None,
    };
    assert!(rig.bus.submit_with(p_gain(1.0), estop_class).is_err());
}

#[tokio::test(start_paused = true)]
async fn a_job_whose_deadline_passes_in_the_queue_times_out_unsent() {
    let rig = rig().await;
    let gain = Profile::xm430_w350()
        .register("Position P Gain")
        .expect("register")
        .address;
    let from = rig.heard_len();
    // A read of the whole table keeps the link busy for several (virtual) ms.
    let busy = rig
        .bus
        .submit(Command::ReadParams {
            drive: DRIVE_1,
            registers: vec![],
        })
        .expect("read");
    let hurried = rig
        .bus
        .submit_with(
            p_gain(321.0),
            JobOptions {
                priority: Priority::User,
                deadline: Some(Duration::from_micros(200)),
            },
        )
        .expect("write with a deadline");
    let patient = rig
        .bus
        .submit_with(
            p_gain(123.0),
            JobOptions {
                priority: Priority::User,
                deadline: Some(Duration::from_secs(5)),
            },
        )
        .expect("write with a loose deadline");
    let hurried_id = hurried.id;
    assert_eq!(busy.outcome().await, JobState::Done);
    assert_eq!(hurried.outcome().await, JobState::TimedOut);
    assert_eq!(patient.outcome().await, JobState::Done);
    // Nothing of the hurried job reached the drive: not its value, not even its reads.
    let gains = rig.writes_to(from, gain);
    assert_eq!(gains, vec![123u16.to_le_bytes().to_vec()]);
    assert_eq!(rig.sim_raw("Position P Gain"), 123);
    let states = rig.journal.states();
    assert_eq!(states[&hurried_id], vec![JobState::TimedOut]);
    rig.assert_one_terminal_state_each();
}

fn read_gain() -> Command {
    Command::ReadParams {
        drive: DRIVE_1,
        registers: vec!["Position P Gain".into()],
    }
}

#[tokio::test(start_paused = true)]
async fn telemetry_waits_behind_queued_jobs_but_never_starves() {
    let rig = rig().await;
    let from = rig.heard_len();
    let start = Instant::now();
    let jobs: Vec<_> = (0..3000)
        .map(|_| rig.bus.submit(read_gain()).expect("read"))
        .collect();
    for job in jobs {
        assert_eq!(job.outcome().await, JobState::Done);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let heard = rig.heard.lock().expect("heard")[from..].to_vec();
    let reads = heard.iter().filter(|p| p.instruction == READ).count();
    let polls = heard.iter().filter(|p| p.instruction == SYNC_READ).count();
    assert_eq!(reads, 3000, "every job's read went out");
    // The link's default telemetry rate is 200 Hz; behind a queue that lasts for
    // seconds it keeps at least half of it (and most of the line goes to the jobs).
    assert!(elapsed > 1.0, "the queue lasted {elapsed:.2} s");
    let rate = polls as f64 / elapsed;
    assert!(
        (90.0..=230.0).contains(&rate),
        "{polls} polls in {elapsed:.2} s: {rate:.0} Hz"
    );
    rig.assert_one_terminal_state_each();
}

#[tokio::test(start_paused = true)]
async fn an_estop_overtakes_ten_thousand_queued_jobs_and_cancels_only_the_motion() {
    let rig = rig().await;
    let profile = Profile::xm430_w350();
    let address = |name: &str| profile.register(name).expect("register").address;
    let (torque, goal) = (address("Torque Enable"), address("Goal Position"));
    for command in [
        Command::Arm { drive: DRIVE_1 },
        Command::Enable { drive: DRIVE_1 },
    ] {
        assert_eq!(
            rig.bus.submit(command).expect("accepted").outcome().await,
            JobState::Done
        );
    }
    // 10,000 jobs: moves and parameter reads, alternating.
    let mut moves = Vec::new();
    let mut reads = Vec::new();
    for i in 0..5000 {
        let target = drivedeck_domain::Target::Position(1.0 + f64::from(i % 100) * 0.01);
        moves.push(
            rig.bus
                .submit(Command::SetTarget {
                    drive: DRIVE_1,
                    target,
                })
                .expect("move"),
        );
        reads.push(rig.bus.submit(read_gain()).expect("read"));
    }
    // Let the link get into the queue, then stop.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let before = rig.heard_len();
    let requested = Instant::now();
    let estop = rig.bus.submit(Command::EStop).expect("E-stop");
    assert_eq!(estop.outcome().await, JobState::Done);
    let heard = rig.heard.lock().expect("heard").clone();
    let heard_at = rig.heard_at.lock().expect("heard at").clone();
    let stop = (before..heard.len())
        .find(|&i| {
            heard[i].id == BROADCAST
                && heard[i].instruction == WRITE
                && heard[i].params.get(..2) == Some(&torque.to_le_bytes())
        })
        .expect("a broadcast torque-off");
    // At most the exchange already on the wire went before it: a few hundred µs.
    assert!(stop - before <= 1, "{} frames went first", stop - before);
    let latency = heard_at[stop] - requested;
    assert!(
        latency <= Duration::from_millis(2),
        "the stop frame came {latency:?} after the request"
    );
    let mut cancelled = 0;
    for job in moves {
        match job.outcome().await {
            JobState::Done => {}
            JobState::Cancelled { reason } if reason == "E-stop" => cancelled += 1,
            other => panic!("a move ended {other:?}"),
        }
    }
    assert!(
        cancelled > 4900,
        "only {cancelled} queued moves were cancelled"
    );
    for job in reads {
        assert_eq!(job.outcome().await, JobState::Done, "reads are not motion");
    }
    // No goal reached the drive after the stop, and its torque is off.
    assert!(rig.writes_to(stop, goal).is_empty());
    assert!(!rig.drives.lock().expect("drives")[0].torque_enabled());
    rig.assert_one_terminal_state_each();
}

#[tokio::test(start_paused = true)]
async fn polls_slower_than_their_period_do_not_starve_the_jobs_either() {
    // A poll of two drives takes over a millisecond (their return delays): asked for at
    // 5 kHz, the link is always late with telemetry. Jobs and polls then alternate.
    let rig = rig_polling(5_000.0).await;
    let from = rig.heard_len();
    let jobs: Vec<_> = (0..200)
        .map(|_| rig.bus.submit(read_gain()).expect("read"))
        .collect();
    let all = async {
        for job in jobs {
            assert_eq!(job.outcome().await, JobState::Done);
        }
    };
    tokio::time::timeout(Duration::from_secs(10), all)
        .await
        .expect("the jobs ran between the polls");
    let heard = rig.heard.lock().expect("heard")[from..].to_vec();
    let reads = heard.iter().filter(|p| p.instruction == READ).count();
    let polls = heard.iter().filter(|p| p.instruction == SYNC_READ).count();
    assert_eq!(reads, 200);
    assert!(
        (150..=260).contains(&polls),
        "{polls} polls went between 200 jobs"
    );
    rig.assert_one_terminal_state_each();
}
