//! What each wire protocol means for a link, behind one interface: [`LinkProtocol`].
//!
//! The link actor ([`crate::link`]) is written once, for every protocol. It asks the
//! link's protocol for the frames of what it wants done — read a block of registers from
//! one drive or from many, write a register, ping — and hands the bytes it reads back to
//! the protocol to decode into [`Reply`]s. The protocol also knows how long a reply may
//! take on the wire, what its broadcast address is, how a drive's error bits read in
//! words, and which registers carry a sign bit instead of two's complement.
//!
//! - [`dxl2`]: DYNAMIXEL Protocol 2.0. Telemetry by Sync Read, broadcast ping.
//! - [`dxl1`]: DYNAMIXEL Protocol 1.0 (no Sync Read on the AX: one Read per drive) and
//!   the Feetech SCS/STS variant (Sync Read). Alarms travel in every status packet.
//! - [`modbus`]: Modbus RTU. One read per unit and contiguous block, t3.5 silence before
//!   every request, exceptions as refusals, broadcast writes to unit 0.
//!
//! [`Block`] is a contiguous stretch of one address space read in one go; [`Block::plan`]
//! cuts a set of registers into as few blocks as the protocol's longest read allows.

pub mod dxl1;
pub mod dxl2;
pub mod modbus;

use bytes::BytesMut;
use drivedeck_domain::ResetKeep;
use drivedeck_proto::profile::{AddressSpace, Profile, Protocol, Register, Role};
use std::time::Duration;

/// One request as it goes on the wire, and what answers it.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The encoded frame.
    pub bytes: Vec<u8>,
    /// The IDs that answer, in the order they answer; empty when nobody answers (a
    /// broadcast write).
    pub expect: Vec<u8>,
    /// Bytes of all the expected answers together (for the reply timeout).
    pub reply_bytes: usize,
    /// The protocol's own form of the request, which decoding the answers may need.
    pub(crate) frame: Frame,
}

/// A request in its protocol's terms.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Frame {
    /// A DYNAMIXEL 2.0 instruction packet.
    Dxl2,
    /// A DYNAMIXEL 1.0 / Feetech instruction packet.
    Dxl1,
    /// A Modbus RTU request.
    Modbus(drivedeck_proto::modbus::RequestFrame),
}

/// A decoded answer from one drive.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The answering drive.
    pub id: u8,
    /// The drive refused the request (a status error, a Modbus exception), in words.
    pub refused: Option<String>,
    /// The Modbus exception code of a refusal (01 Illegal Function, 0B gateway target
    /// silent, …); `None` for other protocols and for answers that are not exceptions.
    pub exception: Option<u8>,
    /// Alarm bits the answer carries whatever was asked (DYNAMIXEL 1.0 and Feetech error
    /// byte), raw; 0 when none or when the protocol carries none.
    pub alarms: u8,
    /// The data returned, as on the wire: control-table bytes, or Modbus registers as
    /// big-endian byte pairs.
    pub data: Vec<u8>,
}

/// What a ping (or the protocol's nearest) tells about a drive.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    /// The model number the drive reports, when the ping carries it.
    pub model_number: Option<u16>,
    /// The firmware version, when the ping carries it.
    pub firmware: Option<u8>,
}

/// A protocol's answer to "what next" while decoding: see [`LinkProtocol::decode`].
pub type Decoded = Result<Option<Reply>, String>;

/// What a wire protocol means for a link. One implementation per protocol; the link
/// actor holds one as `Box<dyn LinkProtocol>`.
pub trait LinkProtocol: Send + Sync {
    /// The protocol.
    fn protocol(&self) -> Protocol;

    /// The name used in events and the store (`dynamixel2`, `modbus-rtu`, …).
    fn name(&self) -> &'static str {
        protocol_name(self.protocol())
    }

    /// Bits per byte on the wire (start, data, parity, stop), for timing.
    fn bits_per_byte(&self) -> u32 {
        10
    }

    /// Silence the line must keep before a request may start (Modbus t3.5).
    fn silence_before_request(&self, _baud: u32) -> Duration {
        Duration::ZERO
    }

    /// Time to leave the drives after a broadcast before the next request (Modbus's
    /// turnaround delay; nothing for the servo protocols, whose drives act at once).
    fn broadcast_turnaround(&self) -> Duration {
        Duration::ZERO
    }

    /// The address every drive hears; `None` if the protocol has none.
    fn broadcast_id(&self) -> Option<u8>;

    /// Highest address a drive may have on this bus.
    fn max_id(&self) -> u8;

    /// Longest block one read may cover, in address units.
    fn max_read(&self) -> u16;

    /// Whether [`LinkProtocol::read_many`] reads several drives in one request (Sync
    /// Read) rather than one request per drive.
    fn reads_many_at_once(&self) -> bool;

    /// A request that checks `id` is there and, where the protocol can, says what it is.
    /// For Modbus (no ping function) the caller reads a known register instead:
    /// `None`.
    fn ping(&self, id: u8) -> Option<Request>;

    /// What a ping's answer says of the drive.
    fn identify(&self, reply: &Reply) -> Identity;

    /// Read `block` from drive `id`.
    fn read(&self, id: u8, block: &Block) -> Result<Request, String>;

    /// Read `block` from each of `ids`: one Sync Read where the protocol has it, else one
    /// request per drive (in `ids` order).
    fn read_many(&self, block: &Block, ids: &[u8]) -> Result<Vec<Request>, String> {
        ids.iter().map(|id| self.read(*id, block)).collect()
    }

    /// Write `raw` (a register value as the register holds it, see [`to_wire`]) into
    /// `register` of drive `id` (or of every drive, at the broadcast address).
    fn write(&self, id: u8, register: &Register, raw: i64) -> Result<Request, String>;

    /// A write drive `id` acts on without answering: a Sync Write naming it alone (no
    /// status packet, as ROBOTIS's GroupSyncWrite loops use), so a tuning run's cycle is
    /// one exchange, not two. `None` where the protocol has none (Modbus: a broadcast
    /// reaches every drive and costs a turnaround delay).
    fn write_unanswered(
        &self,
        _id: u8,
        _register: &Register,
        _raw: i64,
    ) -> Option<Result<Request, String>> {
        None
    }

    /// Takes the next answer to `request` from the front of `buf`: `Ok(None)` when more
    /// bytes are needed, `Err` when a corrupt frame was dropped (call again to go on).
    /// Frames that are not answers (an adapter's echo of the request) are skipped.
    fn decode(&self, buf: &mut BytesMut, request: &Request) -> Decoded;

    /// The sign bit of a register the protocol's drives encode sign-magnitude (Feetech,
    /// DYNAMIXEL 1.0 speeds), `None` for two's complement.
    fn sign_bit(&self, _profile: &Profile, _register: &Register) -> Option<u8> {
        None
    }

    /// The drive's error register (the `hardware_error` role) in words; `None` when clear.
    fn error_text(&self, bits: i64) -> Option<String>;

    /// Alarm bits of a [`Reply`] in words; `None` when clear.
    fn alarm_text(&self, _alarms: u8) -> Option<String> {
        None
    }

    /// The request that clears drive `id`'s latched fault by restarting it (DYNAMIXEL
    /// 2.0 Reboot); `Err` says why the protocol has none. CiA 402 drives are reset
    /// through their controlword instead, whatever the protocol.
    fn reboot(&self, _id: u8) -> Result<Request, String> {
        Err(format!(
            "{} drives latch no fault to clear: their alarms last as long as their cause \
             (an overload clears when torque is switched on again)",
            self.name()
        ))
    }

    /// The set-up reboot of drive `id` (RAM back to its defaults, torque off); `Err`
    /// says why the protocol has none.
    fn setup_reboot(&self, id: u8) -> Result<Request, String> {
        self.reboot(id).map_err(|_| {
            format!(
                "reboot is not supported by this protocol ({}): its instruction set has none",
                self.name()
            )
        })
    }

    /// The factory reset of drive `id` keeping `keep`; `Err` says why the protocol has
    /// none, or none that keeps that.
    fn factory_reset(&self, _id: u8, _keep: ResetKeep) -> Result<Request, String> {
        Err(format!(
            "factory reset is not supported by this protocol ({}): reset the drive with \
             its vendor's tool",
            self.name()
        ))
    }

    /// Whether writes to persistent (EEPROM) registers are refused while torque is on
    /// (the DYNAMIXEL X series: \"EEPROM can only be written when Torque Enable is 0\").
    fn persistent_needs_torque_off(&self) -> bool {
        false
    }
}

/// The fastest telemetry poll rate a link may be asked for, Hz: above any wire's limit,
/// so a link asked for it polls as fast as its line allows.
pub const MAX_POLL_HZ: f64 = 100_000.0;

/// The protocol object for `protocol`.
pub fn for_protocol(protocol: Protocol) -> Box<dyn LinkProtocol> {
    match protocol {
        Protocol::Dynamixel2 => Box::new(dxl2::Dxl2),
        Protocol::Dynamixel1 => Box::new(dxl1::Dxl1::dynamixel()),
        Protocol::Feetech => Box::new(dxl1::Dxl1::feetech()),
        Protocol::ModbusRtu => Box::new(modbus::ModbusRtu),
    }
}

/// The name of `protocol` as profiles, events and the command line spell it.
pub fn protocol_name(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Dynamixel2 => "dynamixel2",
        Protocol::Dynamixel1 => "dynamixel1",
        Protocol::Feetech => "feetech",
        Protocol::ModbusRtu => "modbus-rtu",
    }
}

/// The protocol with this name (see [`protocol_name`]).
pub fn protocol_from_name(name: &str) -> Option<Protocol> {
    [
        Protocol::Dynamixel2,
        Protocol::Dynamixel1,
        Protocol::Feetech,
        Protocol::ModbusRtu,
    ]
    .into_iter()
    .find(|p| protocol_name(*p) == name)
}

/// Time on the wire of `bytes` at `baud` with `bits` per byte.
pub fn wire_time(baud: u32, bits: u32, bytes: usize) -> Duration {
    let bits = u64::from(bits) * bytes as u64;
    Duration::from_nanos(bits.saturating_mul(1_000_000_000) / u64::from(baud.max(1)))
}

/// A contiguous stretch of one address space, read in one request.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Block {
    /// The address space (control-table bytes, Modbus holding or input registers).
    pub space: AddressSpace,
    /// First address.
    pub address: u16,
    /// Length in address units (bytes, or 16-bit registers).
    pub length: u16,
}

impl Block {
    /// Bytes of data a reply reading this block carries.
    pub fn data_len(&self) -> usize {
        match self.space {
            AddressSpace::Bytes => usize::from(self.length),
            AddressSpace::Holding | AddressSpace::Input => usize::from(self.length) * 2,
        }
    }

    /// The block holding exactly `register`.
    pub fn of(register: &Register) -> Block {
        Block {
            space: register.space,
            address: register.address,
            length: register.span() as u16,
        }
    }

    /// The smallest single block covering `registers` (all in one address space);
    /// `None` for none, mixed spaces, or more than `max` units.
    pub fn covering(registers: &[&Register], max: u16) -> Option<Block> {
        let first = registers.first()?;
        if registers.iter().any(|r| r.space != first.space) {
            return None;
        }
        let start = registers.iter().map(|r| r.address).min()?;
        let end = registers.iter().map(|r| r.end()).max()?;
        let length = u16::try_from(end - usize::from(start)).ok()?;
        (length <= max).then_some(Block {
            space: first.space,
            address: start,
            length,
        })
    }

    /// As few blocks as cover `registers`, none longer than `max` units: registers are
    /// taken in address order per space, and a block grows while it stays within `max`.
    pub fn plan(registers: &[&Register], max: u16) -> Vec<Block> {
        let mut sorted: Vec<&Register> = registers.to_vec();
        sorted.sort_by_key(|r| (r.space.name(), r.address));
        let mut blocks: Vec<Block> = Vec::new();
        for register in sorted {
            let end = register.end();
            if let Some(last) = blocks.last_mut()
                && last.space == register.space
                && end.saturating_sub(usize::from(last.address)) <= usize::from(max)
            {
                let length = end.max(last.end()) - usize::from(last.address);
                last.length = length as u16;
                continue;
            }
            blocks.push(Block::of(register));
        }
        blocks
    }

    /// One past the last address.
    pub fn end(&self) -> usize {
        usize::from(self.address) + usize::from(self.length)
    }

    /// Whether `register` lies wholly inside the block.
    pub fn contains(&self, register: &Register) -> bool {
        register.space == self.space
            && register.address >= self.address
            && register.end() <= self.end()
    }

    /// Bytes the block takes in a reply.
    pub fn bytes(&self) -> usize {
        match self.space {
            AddressSpace::Bytes => usize::from(self.length),
            AddressSpace::Holding | AddressSpace::Input => usize::from(self.length) * 2,
        }
    }

    /// `register`'s raw value (as the register holds it) out of `data` read at this
    /// block; `None` if it is not inside or the data is short.
    pub fn raw(&self, register: &Register, data: &[u8]) -> Option<i64> {
        if !self.contains(register) {
            return None;
        }
        let offset = usize::from(register.address - self.address);
        match self.space {
            AddressSpace::Bytes => register.decode(data.get(offset..offset + register.size())?),
            AddressSpace::Holding | AddressSpace::Input => {
                let bytes = data.get(offset * 2..(offset + register.span()) * 2)?;
                let words: Vec<u16> = bytes
                    .chunks_exact(2)
                    .map(|w| u16::from_be_bytes([w[0], w[1]]))
                    .collect();
                register.decode_words(&words)
            }
        }
    }
}

/// The signed value of a register's raw bits, undoing sign-magnitude where `protocol`
/// uses it for this register.
pub fn from_wire(
    protocol: &dyn LinkProtocol,
    profile: &Profile,
    register: &Register,
    raw: i64,
) -> i64 {
    match protocol.sign_bit(profile, register) {
        Some(bit) => i64::from(drivedeck_proto::dxl1::decode_sign_magnitude(
            raw as u16, bit,
        )),
        None => raw,
    }
}

/// The register's raw bits for the signed value `value` (sign-magnitude where `protocol`
/// uses it), checked against the register's type and the profile's min/max. The error
/// names the register, the value and the allowed range: nothing is sent.
pub fn to_wire(
    protocol: &dyn LinkProtocol,
    profile: &Profile,
    register: &Register,
    value: i64,
) -> Result<i64, String> {
    let raw = match protocol.sign_bit(profile, register) {
        Some(bit) => {
            let encoded = i32::try_from(value)
                .ok()
                .and_then(|v| drivedeck_proto::dxl1::encode_sign_magnitude(v, bit));
            match encoded {
                Some(bits) => i64::from(bits),
                None => {
                    return Err(format!(
                        "{}: value {value} does not fit {bit} bits and a sign",
                        register.name
                    ));
                }
            }
        }
        None => value,
    };
    register.check(raw)?;
    Ok(raw)
}

/// The largest magnitude a register can carry as a signed value: for sign-magnitude
/// registers the bits below the sign (capped by the profile's max), else the larger of
/// |min| and |max|.
pub fn magnitude_limit(protocol: &dyn LinkProtocol, profile: &Profile, register: &Register) -> i64 {
    let limits = register.limits();
    match protocol.sign_bit(profile, register) {
        Some(bit) => ((1i64 << bit) - 1).min(*limits.end()),
        None => limits.start().abs().max(limits.end().abs()),
    }
}

/// The register playing `role` in `profile`, or an error naming both.
pub fn role_register(profile: &Profile, role: Role) -> Result<&Register, String> {
    profile
        .role(role)
        .ok_or_else(|| format!("profile {} has no {} register", profile.name, role.key()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_covers_the_xm430_telemetry_in_one_block_and_the_kinco_actuals_in_three() {
        let xm = Profile::xm430_w350();
        let roles = [
            Role::PresentCurrent,
            Role::PresentVelocity,
            Role::PresentPosition,
        ];
        let regs: Vec<&Register> = roles.iter().filter_map(|r| xm.role(*r)).collect();
        assert_eq!(
            Block::plan(&regs, 1000),
            vec![Block {
                space: AddressSpace::Bytes,
                address: 126,
                length: 10
            }]
        );
        // A tiny limit splits the block; every register stays inside one block.
        let split = Block::plan(&regs, 6);
        assert_eq!(split.len(), 2, "{split:?}");
        for r in &regs {
            assert_eq!(split.iter().filter(|b| b.contains(r)).count(), 1);
        }
        // The Kinco's actuals lie 0x400 registers apart: one Modbus read each.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../proto/profiles/kinco-fd5p.toml");
        let fd5p = Profile::load(&path).expect("profile");
        let regs: Vec<&Register> = roles.iter().filter_map(|r| fd5p.role(*r)).collect();
        let blocks = Block::plan(&regs, 125);
        let starts: Vec<(u16, u16)> = blocks.iter().map(|b| (b.address, b.length)).collect();
        assert_eq!(starts, vec![(0x3700, 2), (0x3B00, 2), (0x3E00, 1)]);
        assert!(blocks.iter().all(|b| b.space == AddressSpace::Holding));
    }

    #[test]
    fn a_block_decodes_each_register_at_its_offset() {
        let xm = Profile::xm430_w350();
        let block = Block {
            space: AddressSpace::Bytes,
            address: 126,
            length: 10,
        };
        let mut data = vec![0u8; 10];
        data[0..2].copy_from_slice(&(-5i16).to_le_bytes()); // Present Current 126
        data[2..6].copy_from_slice(&(-7i32).to_le_bytes()); // Present Velocity 128
        data[6..10].copy_from_slice(&1024i32.to_le_bytes()); // Present Position 132
        let reg = |role| xm.role(role).expect("role");
        assert_eq!(block.raw(reg(Role::PresentCurrent), &data), Some(-5));
        assert_eq!(block.raw(reg(Role::PresentVelocity), &data), Some(-7));
        assert_eq!(block.raw(reg(Role::PresentPosition), &data), Some(1024));
        assert_eq!(block.raw(reg(Role::PresentPosition), &data[..8]), None);
        assert_eq!(block.raw(reg(Role::GoalPosition), &data), None);
    }

    #[test]
    fn sign_magnitude_registers_go_through_the_sign_bit_and_the_profile_range() {
        let ax = Profile::ax12a();
        let proto = for_protocol(Protocol::Dynamixel1);
        let speed = ax.role(Role::GoalVelocity).expect("Moving Speed");
        // -100 counts clockwise: bit 10 set above the magnitude.
        assert_eq!(to_wire(proto.as_ref(), &ax, speed, -100), Ok(1024 + 100));
        assert_eq!(from_wire(proto.as_ref(), &ax, speed, 1024 + 100), -100);
        assert!(to_wire(proto.as_ref(), &ax, speed, 1024).is_err());
        assert_eq!(magnitude_limit(proto.as_ref(), &ax, speed), 1023);
        // Goal Position is plain: 0..=1023.
        let goal = ax.role(Role::GoalPosition).expect("goal");
        assert_eq!(to_wire(proto.as_ref(), &ax, goal, 512), Ok(512));
        assert!(to_wire(proto.as_ref(), &ax, goal, -1).is_err());
        assert!(to_wire(proto.as_ref(), &ax, goal, 1024).is_err());

        // The STS3215 profile limits Goal Speed to 0..=32767: reverse is refused.
        let sts = Profile::sts3215();
        let feetech = for_protocol(Protocol::Feetech);
        let speed = sts.role(Role::GoalVelocity).expect("Goal Speed");
        assert_eq!(to_wire(feetech.as_ref(), &sts, speed, 600), Ok(600));
        let refused = to_wire(feetech.as_ref(), &sts, speed, -600).expect_err("reverse");
        assert!(refused.contains("Goal Speed"), "{refused}");
        let present = sts.role(Role::PresentVelocity).expect("Present Speed");
        assert_eq!(
            from_wire(feetech.as_ref(), &sts, present, 0x8000 | 600),
            -600
        );
    }

    #[test]
    fn wire_time_counts_bits() {
        assert_eq!(wire_time(1_000_000, 10, 100), Duration::from_millis(1));
        assert_eq!(wire_time(9600, 11, 96), Duration::from_nanos(110_000_000));
    }

    #[test]
    fn protocol_names_round_trip() {
        for p in [
            Protocol::Dynamixel2,
            Protocol::Dynamixel1,
            Protocol::Feetech,
            Protocol::ModbusRtu,
        ] {
            assert_eq!(protocol_from_name(protocol_name(p)), Some(p));
            assert_eq!(for_protocol(p).protocol(), p);
        }
        assert_eq!(protocol_from_name("canopen"), None);
    }
}
