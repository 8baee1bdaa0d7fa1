//! The firmware families a simulated drive can run, and which one a profile selects
//! (from its protocol, or its CiA 402 enable scheme).

use drivedeck_proto::profile::{Enable, Profile, Protocol};

/// The firmware family, whose rules the drive follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Firmware {
    /// DYNAMIXEL X series (Protocol 2.0).
    DynamixelX,
    /// DYNAMIXEL AX/RX/MX with Protocol 1.0 firmware.
    Dynamixel1,
    /// Feetech SCS/STS.
    Feetech,
    /// A CiA 402 drive (profile `enable = "cia402"`), whatever bus carries its objects.
    Cia402,
    /// Any other drive: the generic table rules only.
    Generic,
}

impl Firmware {
    /// The family that speaks `protocol`.
    pub fn of(protocol: Protocol) -> Firmware {
        match protocol {
            Protocol::Dynamixel2 => Firmware::DynamixelX,
            Protocol::Dynamixel1 => Firmware::Dynamixel1,
            Protocol::Feetech => Firmware::Feetech,
            Protocol::ModbusRtu => Firmware::Generic,
        }
    }

    /// The firmware a drive of `profile` runs: [`Firmware::Cia402`] for a CiA 402 profile,
    /// else its protocol's family.
    pub fn for_profile(profile: &Profile) -> Firmware {
        match profile.enable {
            Enable::Cia402 => Firmware::Cia402,
            Enable::Flag => Firmware::of(profile.protocol),
        }
    }
}
