//! Where a simulated drive keeps its control table, in the shape its protocol addresses it.
//!
//! DYNAMIXEL and Feetech tables are bytes: an entry's address counts bytes and its value is
//! little-endian. Modbus drives have two tables of 16-bit registers (holding and input);
//! an entry's address counts registers, and a 32-bit value takes two of them in the
//! profile's word order ([`Register::encode_words`]). [`Table`] holds either and reads and
//! writes an entry's raw value the same way for both, so the firmware code above it does
//! not care which protocol the drive speaks.

use drivedeck_proto::profile::{AddressSpace, Profile, Register};

/// A drive's control table. See the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Table {
    /// Byte-addressed (DYNAMIXEL, Feetech).
    Bytes(Vec<u8>),
    /// Modbus: holding and input registers, each table as long as its last entry's end.
    Registers {
        /// Holding registers (03, 06, 16).
        holding: Vec<u16>,
        /// Input registers (04).
        input: Vec<u16>,
    },
}

impl Table {
    /// An all-zero table large enough for every entry of `profile`.
    pub fn for_profile(profile: &Profile) -> Table {
        let end = |space: AddressSpace| {
            profile
                .registers
                .iter()
                .filter(|r| r.space == space)
                .map(Register::end)
                .max()
                .unwrap_or(0)
        };
        if profile
            .registers
            .iter()
            .any(|r| r.space != AddressSpace::Bytes)
        {
            Table::Registers {
                holding: vec![0; end(AddressSpace::Holding)],
                input: vec![0; end(AddressSpace::Input)],
            }
        } else {
            Table::Bytes(vec![0; end(AddressSpace::Bytes)])
        }
    }

    /// `len` bytes from `address` of a byte table; `None` outside it or for a register table.
    pub fn bytes(&self, address: u16, len: u16) -> Option<&[u8]> {
        let start = usize::from(address);
        match self {
            Table::Bytes(bytes) => bytes.get(start..start + usize::from(len)),
            Table::Registers { .. } => None,
        }
    }

    /// `count` registers from `address` of a Modbus table; `None` outside it, for
    /// [`AddressSpace::Bytes`] or for a byte table.
    pub fn words(&self, space: AddressSpace, address: u16, count: usize) -> Option<&[u16]> {
        let start = usize::from(address);
        match (self, space) {
            (Table::Registers { holding, .. }, AddressSpace::Holding) => {
                holding.get(start..start + count)
            }
            (Table::Registers { input, .. }, AddressSpace::Input) => {
                input.get(start..start + count)
            }
            _ => None,
        }
    }

    /// Length of a byte table in bytes, or of the holding registers in registers.
    pub fn len(&self) -> usize {
        match self {
            Table::Bytes(bytes) => bytes.len(),
            Table::Registers { holding, .. } => holding.len(),
        }
    }

    /// True when the table has no room at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw value of `register` (0 if it lies outside the table).
    pub fn get(&self, register: &Register) -> i64 {
        let value = match register.space {
            AddressSpace::Bytes => self
                .bytes(register.address, register.size() as u16)
                .and_then(|bytes| register.decode(bytes)),
            space => self
                .words(space, register.address, register.span())
                .and_then(|words| register.decode_words(words)),
        };
        value.unwrap_or(0)
    }

    /// Stores `raw` in `register` (two's complement, truncated to its type; nothing happens
    /// if it lies outside the table).
    pub fn put(&mut self, register: &Register, raw: i64) {
        let start = usize::from(register.address);
        match (self, register.space) {
            (Table::Bytes(bytes), AddressSpace::Bytes) => {
                let value = register.encode(raw);
                if let Some(slot) = bytes.get_mut(start..start + value.len()) {
                    slot.copy_from_slice(&value);
                }
            }
            (Table::Registers { holding, input }, space) => {
                let words = if space == AddressSpace::Input {
                    input
                } else {
                    holding
                };
                let value = register.encode_words(raw);
                if let Some(slot) = words.get_mut(start..start + value.len()) {
                    slot.copy_from_slice(&value);
                }
            }
            (Table::Bytes(_), _) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_modbus_table_counts_registers_and_keeps_the_word_order() {
        let profile = Profile::kinco_fd5p();
        let mut table = Table::for_profile(&profile);
        // The last entry, Target Velocity, ends at register 0x6F02: 0x6F02 registers, not
        // bytes.
        assert_eq!(table.len(), 0x6F02);
        assert!(table.words(AddressSpace::Input, 0, 1).is_none());
        let velocity = profile.register("Target Velocity").expect("60FFh").clone();
        // The manual's frame: 0x001B4E82 low word first.
        table.put(&velocity, 0x001B_4E82);
        assert_eq!(
            table.words(AddressSpace::Holding, 0x6F00, 2),
            Some(&[0x4E82, 0x001B][..])
        );
        assert_eq!(table.get(&velocity), 0x001B_4E82);
        table.put(&velocity, -2);
        assert_eq!(
            table.words(AddressSpace::Holding, 0x6F00, 2),
            Some(&[0xFFFE, 0xFFFF][..])
        );
        assert_eq!(table.get(&velocity), -2);
        assert!(table.bytes(0, 2).is_none(), "no byte view of registers");
    }

    #[test]
    fn a_byte_table_is_little_endian() {
        let profile = Profile::xm430_w350();
        let mut table = Table::for_profile(&profile);
        assert_eq!(table.len(), profile.table_len());
        let goal = profile.register("Goal Position").expect("goal").clone();
        table.put(&goal, 0x0102_0304);
        assert_eq!(table.bytes(116, 4), Some(&[4, 3, 2, 1][..]));
        assert_eq!(table.get(&goal), 0x0102_0304);
    }
}
