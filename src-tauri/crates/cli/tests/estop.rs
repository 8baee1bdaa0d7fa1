//! `estop` as a user runs it: simulated drives left enabled on a real pty, stopped from
//! the command line; a port another program holds, and bad arguments, refused.

mod common;

use common::{cli, text};
use drivedeck_proto::profile::{Profile, Protocol};
use drivedeck_sim::{RigOptions, SimRig};

/// A rig of `profile` drives 1 and 2, both with their power stage on.
fn enabled_rig(profile: &Profile) -> SimRig {
    let rig = SimRig::spawn_with(profile, &[1, 2], RigOptions::default()).expect("rig");
    let torque = profile
        .role(drivedeck_proto::profile::Role::TorqueEnable)
        .expect("torque entry")
        .clone();
    rig.with_drives(|drives| {
        for drive in drives.iter_mut() {
            drive
                .write(torque.address, &torque.encode(1))
                .expect("torque on");
        }
    });
    assert!(rig.with_drives(|d| d.iter().all(|d| d.torque_enabled())));
    rig
}

#[test]
fn estop_stops_enabled_drives_on_every_protocol_with_a_broadcast() {
    for protocol in [Protocol::Dynamixel2, Protocol::Feetech] {
        let profile = Profile::default_for(protocol).expect("built-in profile");
        let rig = enabled_rig(&profile);
        let port = rig.port().to_string_lossy().into_owned();
        let name = drivedeck_engine::protocol_name(protocol);
        let out = cli(&[
            "estop",
            "--port",
            &port,
            "--protocol",
            name,
            "--ids",
            "1,2",
            "--baud",
            "1000000",
        ]);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {stdout}{}",
            text(&out.stderr)
        );
        assert!(stdout.contains("drive 1: stopped"), "{stdout}");
        assert!(stdout.contains("every drive confirmed stopped"), "{stdout}");
        assert!(
            rig.with_drives(|d| d.iter().all(|d| !d.torque_enabled())),
            "{name}: the drives' power stages are off"
        );
        rig.stop();
    }
}

#[test]
fn estop_says_why_when_it_cannot_reach_the_drives_and_sends_nothing_for_bad_arguments() {
    let profile = Profile::xm430_w350();
    let rig = enabled_rig(&profile);
    let port = rig.port().to_string_lossy().into_owned();
    // Another program holds the port (as the app does): the open is refused.
    let held = serialport::new(&port, 1_000_000)
        .open()
        .expect("hold the port");
    let out = cli(&["estop", "--port", &port, "--ids", "1", "--baud", "1000000"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&port), "{stderr}");
    drop(held);
    for bad in [
        vec!["estop", "--port", &port, "--ids", "1,1"],
        vec![
            "estop",
            "--port",
            &port,
            "--ids",
            "1",
            "--protocol",
            "canopen",
        ],
        vec!["estop", "--port", &port],
    ] {
        let out = cli(&bad);
        assert!(!out.status.success(), "{bad:?} was accepted");
        assert!(!text(&out.stderr).is_empty());
    }
    assert_eq!(
        rig.counters().timed_instructions().len(),
        0,
        "nothing reached the drives"
    );
    assert!(rig.with_drives(|d| d.iter().all(|d| d.torque_enabled())));
    rig.stop();
}
