//! Scheduling on a link, on tokio's paused clock: priorities and deadlines.
//!
//! The link runs over an in-memory pipe ([`Bus::attach`]); on the far side a peer task
//! answers with the simulator's own DYNAMIXEL 2.0 responder and drive tables, sleeping
//! each reply's wire time and return delay on the (paused, auto-advancing) clock. So the
//! bytes are real, the timing is virtual and every run is the same.

use bytes::BytesMut;
use drivedeck_bus::link::LinkConfig;
use drivedeck_bus::{Bus, EventSink, JobOptions};
use drivedeck_domain::{Clock, Command, DriveRef, Event, JobId, JobState, Priority};
use drivedeck_proto::profile::{Profile, Protocol};
use drivedeck_sim::responder::{self, HeardPacket};
use drivedeck_sim::{RigOptions, SimDrive};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

const BAUD: u32 = 1_000_000;
const DRIVE_1: DriveRef = DriveRef { link: 1, id: 1 };
/// DYNAMIXEL 2.0 Write instruction.
const WRITE: u8 = 0x03;

#[derive(Default)]
struct Journal(Mutex<Vec<Event>>);

impl EventSink for Journal {
    fn emit(&self, event: Event) {
        self.0.lock().expect("journal").push(event);
    }
}

impl Journal {
    /// Each job's states, in order.
    fn states(&self) -> BTreeMap<JobId, Vec<JobState>> {
        let mut out: BTreeMap<JobId, Vec<JobState>> = BTreeMap::new();
        for event in self.0.lock().expect("journal").iter() {
            if let Event::JobChanged { job, state, .. } = event {
                out.entry(*job).or_default().push(state.clone());
            }
        }
        out
    }
}

type Shared<T> = Arc<Mutex<T>>;

/// The far side of the pipe: decodes instructions, answers from the simulated tables.
async fn peer(
    mut io: DuplexStream,
    drives: Shared<Vec<SimDrive>>,
    heard: Shared<Vec<HeardPacket>>,
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
}

async fn rig() -> Rig {
    let profile = Profile::xm430_w350();
    let drives: Shared<Vec<SimDrive>> = Arc::new(Mutex::new(vec![
        SimDrive::new(profile.clone(), 1),
        SimDrive::new(profile.clone(), 2),
    ]));
    let heard: Shared<Vec<HeardPacket>> = Arc::default();
    let (near, far) = tokio::io::duplex(4096);
    tokio::spawn(peer(far, Arc::clone(&drives), Arc::clone(&heard)));
    let journal = Arc::new(Journal::default());
    let bus = Bus::new(journal.clone(), Clock::start(), 1);
    let profile = Arc::new(profile);
    let config = LinkConfig::new(
        "memory",
        BAUD,
        vec![(1, Arc::clone(&profile)), (2, profile)],
    );
    let link = bus.attach(near, config).await.expect("link up");
    assert_eq!(link, 1);
    Rig {
        bus,
        journal,
        drives,
        heard,
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
