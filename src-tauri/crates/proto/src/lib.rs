//! DriveDeck's wire protocols and drive descriptions, as pure code without I/O.
//!
//! The bus layer, the simulator and the engine all speak to drives through this crate:
//!
//! - [`dxl1`]: the DYNAMIXEL Protocol 1.0 codec and its Feetech SCS/STS [`dxl1::Variant`].
//! - [`dxl2`]: the DYNAMIXEL Protocol 2.0 codec — packet builders, byte stuffing, CRC-16,
//!   a resynchronising stream [`dxl2::decode`]r and [`dxl2::Packet::parse`] for the device
//!   side.
//! - [`profile`]: drive models described as TOML data — the control table (registers with
//!   type, access, limits and SI scale), which register plays which [`profile::Role`],
//!   operating mode values, the safe-stop action and an optional motor model — with
//!   validation that reports file and line. The ROBOTIS XM430-W350 ships built in.
//!
//! The only file access is [`profile::Profile::load`], a convenience that reads a file and
//! hands it to [`profile::Profile::parse`].

pub mod dxl1;
pub mod dxl2;
pub mod profile;
