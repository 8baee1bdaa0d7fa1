//! A link over a frame transport, through the real actor, on tokio's paused clock.
//!
//! The link's port is an in-memory frame port ([`FrameIo`] over two channels) framed by
//! [`PacketFrames`]: each DYNAMIXEL 2.0 packet travels as one frame, as a USB adapter that
//! delivers whole packets gives them. On the far side a peer answers every frame with the
//! simulator's own responder and drive tables, one frame per reply. Discovery, the
//! telemetry poll, a parameter write and the E-stop go through the same actor code as
//! on a serial port; only the transport differs.

mod common;

use bytes::BytesMut;
use common::{BROADCAST, Journal, WRITE};
use drivedeck_bus::Bus;
use drivedeck_bus::link::{Frame, FrameIo, Framed, LinkConfig, PacketFrames};
use drivedeck_domain::{Clock, Command, DriveRef, Event, JobState};
use drivedeck_proto::profile::{Profile, Protocol};
use drivedeck_sim::responder::{self, HeardPacket};
use drivedeck_sim::{RigOptions, SimDrive};
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const BAUD: u32 = 1_000_000;
/// The identifier the adapter's requests go out with.
const REQUEST_ID: u32 = 0x10;
/// The identifier its replies come back with.
const REPLY_ID: u32 = 0x11;

/// One end of an in-memory frame port.
struct MemoryFrames {
    out: mpsc::UnboundedSender<Frame>,
    inbox: mpsc::UnboundedReceiver<Frame>,
}

impl FrameIo for MemoryFrames {
    async fn send_frame(&mut self, frame: &Frame) -> io::Result<()> {
        self.out
            .send(frame.clone())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the peer is gone"))
    }

    async fn receive_frame(&mut self) -> io::Result<Option<Frame>> {
        Ok(self.inbox.recv().await)
    }
}

fn frame_pair() -> (MemoryFrames, MemoryFrames) {
    let (a_out, b_inbox) = mpsc::unbounded_channel();
    let (b_out, a_inbox) = mpsc::unbounded_channel();
    (
        MemoryFrames {
            out: a_out,
            inbox: a_inbox,
        },
        MemoryFrames {
            out: b_out,
            inbox: b_inbox,
        },
    )
}

type Shared<T> = Arc<Mutex<T>>;

/// What the far side saw: each frame's identifier and the packets it held.
#[derive(Default)]
struct Heard {
    frames: Vec<(u32, Vec<HeardPacket>)>,
}

/// The far side: every frame must hold one whole packet; each reply goes back as a frame.
async fn peer(mut port: MemoryFrames, drives: Shared<Vec<SimDrive>>, heard: Shared<Heard>) {
    let mut responder = responder::for_protocol(Protocol::Dynamixel2, &RigOptions::default())
        .expect("a DYNAMIXEL 2.0 responder");
    while let Some(frame) = port.inbox.recv().await {
        let mut buf = BytesMut::from(&frame.data[..]);
        let mut packets = Vec::new();
        while let Ok(Some(packet)) = responder.decode(&mut buf) {
            packets.push(packet);
        }
        assert!(buf.is_empty(), "a frame held part of a packet: {buf:?}");
        heard
            .lock()
            .expect("heard")
            .frames
            .push((frame.id, packets.clone()));
        for packet in packets {
            let replies = responder.respond(&mut drives.lock().expect("drives"), &packet);
            for reply in replies {
                let wire =
                    Duration::from_secs_f64(reply.bytes.len() as f64 * 10.0 / f64::from(BAUD));
                tokio::time::sleep(reply.delay + wire).await;
                let frame = Frame {
                    id: REPLY_ID,
                    data: reply.bytes,
                };
                if port.out.send(frame).is_err() {
                    return;
                }
            }
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_link_over_whole_frames_finds_its_drives_polls_writes_and_stops() {
    let profile = Profile::xm430_w350();
    let drives: Shared<Vec<SimDrive>> = Arc::new(Mutex::new(vec![
        SimDrive::new(profile.clone(), 1),
        SimDrive::new(profile.clone(), 2),
    ]));
    let heard: Shared<Heard> = Arc::default();
    let (near, far) = frame_pair();
    tokio::spawn(peer(far, Arc::clone(&drives), Arc::clone(&heard)));
    let journal = Arc::new(Journal::default());
    let bus = Bus::new(journal.clone(), Clock::start(), 1);
    let shared = Arc::new(profile.clone());
    let config = LinkConfig::new(
        "memory-frames",
        BAUD,
        vec![(1, Arc::clone(&shared)), (2, shared)],
    );
    let port = Framed::new(
        near,
        PacketFrames {
            id: REQUEST_ID,
            max: 256,
        },
    );
    let link = bus.attach(port, config).await.expect("link up over frames");

    // Discovery identified both drives over frames.
    let statuses = bus.drives();
    for id in [1, 2] {
        assert!(
            statuses.iter().any(|s| s.drive == DriveRef { link, id }),
            "drive {id} not found: {statuses:?}"
        );
    }

    // The telemetry poll runs: samples from both drives.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sampled = |id: u8| {
        journal
            .0
            .lock()
            .expect("journal")
            .iter()
            .filter_map(|e| match e {
                Event::Samples { samples } => Some(samples.clone()),
                _ => None,
            })
            .flatten()
            .filter(|s| s.drive.id == id)
            .count()
    };
    assert!(sampled(1) >= 10, "{} samples from drive 1", sampled(1));
    assert!(sampled(2) >= 10, "{} samples from drive 2", sampled(2));

    // A parameter write reaches the drive's table and reads back.
    let write = bus
        .submit(Command::WriteParams {
            drive: DriveRef { link, id: 1 },
            values: vec![("Position P Gain".into(), 900.0)],
        })
        .expect("accepted");
    assert_eq!(write.outcome().await, JobState::Done);
    assert_eq!(
        drives.lock().expect("drives")[0].raw_named("Position P Gain"),
        Some(900)
    );

    // Enable drive 1, then E-stop: one broadcast torque-off frame, both drives off.
    for command in [
        Command::Arm {
            drive: DriveRef { link, id: 1 },
        },
        Command::Enable {
            drive: DriveRef { link, id: 1 },
        },
    ] {
        assert_eq!(
            bus.submit(command).expect("accepted").outcome().await,
            JobState::Done
        );
    }
    assert!(drives.lock().expect("drives")[0].torque_enabled());
    let before = heard.lock().expect("heard").frames.len();
    let estop = bus.submit(Command::EStop).expect("E-stop");
    assert_eq!(estop.outcome().await, JobState::Done);
    let torque = profile.register("Torque Enable").expect("register").address;
    let heard = heard.lock().expect("heard");
    let stop = heard.frames[before..]
        .iter()
        .find(|(_, packets)| {
            packets.iter().any(|p| {
                p.id == BROADCAST
                    && p.instruction == WRITE
                    && p.params.get(..2) == Some(&torque.to_le_bytes())
            })
        })
        .expect("a broadcast torque-off frame");
    assert_eq!(stop.0, REQUEST_ID);
    assert_eq!(stop.1.len(), 1, "one packet per frame");
    for drive in drives.lock().expect("drives").iter() {
        assert!(!drive.torque_enabled(), "drive {} still on", drive.id());
    }
    // Every request went out as a frame with the adapter's identifier, one packet each.
    assert!(
        heard
            .frames
            .iter()
            .all(|(id, packets)| *id == REQUEST_ID && packets.len() == 1)
    );
}
