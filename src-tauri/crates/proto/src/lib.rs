//! DriveDeck's wire protocols and drive descriptions, as pure code without I/O.
//!
//! The bus layer, the simulator and the engine all speak to drives through this crate:
//!
//! - [`baud`]: baud rates as the servos' Baud Rate registers encode them.
//! - [`cia402`]: the CiA 402 power state machine — controlword commands, states read
//!   from the statusword — for drives whose profile says `enable = "cia402"`.
//! - [`dxl1`]: the DYNAMIXEL Protocol 1.0 codec and its Feetech SCS/STS [`dxl1::Variant`].
//! - [`dxl2`]: the DYNAMIXEL Protocol 2.0 codec — packet builders, byte stuffing, CRC-16,
//!   a resynchronising stream [`dxl2::decode`]r and [`dxl2::Packet::parse`] for the device
//!   side.
//! - [`modbus`]: the Modbus RTU codec — request and response frames for functions 03, 04,
//!   06 and 16 and exceptions, CRC-16/MODBUS, resynchronising stream decoders for the
//!   master ([`modbus::decode_response`]) and the device ([`modbus::decode_request`]) side,
//!   and the t1.5/t3.5 silences per baud rate.
//! - [`profile`]: drive models described as TOML data — the control table (registers with
//!   type, access, limits and SI scale), which register plays which [`profile::Role`],
//!   operating mode values, the safe-stop action and an optional motor model — with
//!   validation that reports file and line. Modbus profiles address 16-bit registers
//!   (holding or input) with a word order for 32-bit values. The ROBOTIS XM430-W350
//!   ships built in.
//!
//! The only file access is [`profile::Profile::load`], a convenience that reads a file and
//! hands it to [`profile::Profile::parse`].

pub mod baud;
pub mod cia402;
pub mod dxl1;
pub mod dxl2;
pub mod modbus;
pub mod profile;
