//! What Dynamixel Protocol 2.0 means for a link: the request for each job, telemetry by
//! Sync Read, and the drive's error bits in words.

use drivedeck_proto::dxl2::{BROADCAST_ID, Packet};
use drivedeck_proto::profile::{Profile, Register, Role};

/// A contiguous block of the control table covering several roles, read in one go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// First address.
    pub address: u16,
    /// Bytes.
    pub length: u16,
}

impl Span {
    /// The smallest block covering the registers of `roles`; `None` if a role is missing.
    pub fn covering(profile: &Profile, roles: &[Role]) -> Option<Span> {
        let registers: Option<Vec<&Register>> = roles.iter().map(|r| profile.role(*r)).collect();
        let registers = registers?;
        let start = registers.iter().map(|r| r.address).min()?;
        let end = registers
            .iter()
            .map(|r| usize::from(r.address) + r.size())
            .max()?;
        Some(Span {
            address: start,
            length: u16::try_from(end - usize::from(start)).ok()?,
        })
    }

    /// Decodes `role`'s raw value out of a block read at this span.
    pub fn value(&self, profile: &Profile, role: Role, data: &[u8]) -> Option<i64> {
        let register = profile.role(role)?;
        let offset = usize::from(register.address.checked_sub(self.address)?);
        register.decode(data.get(offset..offset + register.size())?)
    }
}

/// The roles telemetry reads every poll.
pub const TELEMETRY: [Role; 3] = [
    Role::PresentCurrent,
    Role::PresentVelocity,
    Role::PresentPosition,
];

/// The roles the state poll reads (a few times a second).
pub const STATE: [Role; 2] = [Role::TorqueEnable, Role::HardwareError];

/// A Write of one role's raw value to one drive.
pub fn write_role(profile: &Profile, id: u8, role: Role, raw: i64) -> Option<Packet> {
    let register = profile.role(role)?;
    Some(Packet::write(id, register.address, &register.encode(raw)))
}

/// The safe stop for every drive at once: Torque Enable = 0 to the broadcast ID.
pub fn broadcast_torque_off(profile: &Profile) -> Option<Packet> {
    write_role(profile, BROADCAST_ID, Role::TorqueEnable, 0)
}

/// The Dynamixel X-series Hardware Error Status bits, in words; `None` when clear.
pub fn hardware_error_text(bits: i64) -> Option<String> {
    const BITS: [(i64, &str); 5] = [
        (0, "input voltage out of range"),
        (2, "overheating"),
        (3, "motor encoder fault"),
        (4, "electrical shock (power stage)"),
        (5, "overload"),
    ];
    if bits == 0 {
        return None;
    }
    let words: Vec<&str> = BITS
        .iter()
        .filter(|(bit, _)| bits & (1 << bit) != 0)
        .map(|(_, text)| *text)
        .collect();
    Some(if words.is_empty() {
        format!("hardware error 0x{bits:02X}")
    } else {
        words.join(", ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telemetry_span_covers_current_velocity_position_on_the_xm430() {
        let profile = Profile::xm430_w350();
        let span = Span::covering(&profile, &TELEMETRY).expect("span");
        assert_eq!(
            span,
            Span {
                address: 126,
                length: 10
            }
        );
        let mut data = vec![0u8; 10];
        data[0..2].copy_from_slice(&(-5i16).to_le_bytes()); // Present Current 126
        data[2..6].copy_from_slice(&(-7i32).to_le_bytes()); // Present Velocity 128
        data[6..10].copy_from_slice(&1024i32.to_le_bytes()); // Present Position 132
        assert_eq!(span.value(&profile, Role::PresentCurrent, &data), Some(-5));
        assert_eq!(span.value(&profile, Role::PresentVelocity, &data), Some(-7));
        assert_eq!(
            span.value(&profile, Role::PresentPosition, &data),
            Some(1024)
        );
        assert_eq!(
            span.value(&profile, Role::PresentPosition, &data[..8]),
            None
        );
    }

    #[test]
    fn hardware_error_bits_in_words() {
        assert_eq!(hardware_error_text(0), None);
        assert_eq!(hardware_error_text(0b100).as_deref(), Some("overheating"));
        assert_eq!(
            hardware_error_text(0b10_0001).as_deref(),
            Some("input voltage out of range, overload")
        );
        assert_eq!(
            hardware_error_text(0b10).as_deref(),
            Some("hardware error 0x02")
        );
    }

    #[test]
    fn broadcast_torque_off_is_a_one_byte_write_to_address_64() {
        let packet = broadcast_torque_off(&Profile::xm430_w350()).expect("packet");
        assert_eq!(packet, Packet::write(BROADCAST_ID, 64, &[0]));
    }
}
