//! DriveDeck's physical simulator: drives you can reach through a real serial device.
//!
//! A simulated drive is a motor and load ([`motor`]) under the drive's own cascaded
//! loops and its control table ([`drive`]), answering the real wire protocol
//! ([`dxl2`]) on a pseudo-terminal ([`rig`]). The app, the CLI and the tests open that
//! pty with the serialport crate exactly as they would open a USB adapter, so every test
//! goes through a real serial path.
//!
//! - [`motor`]: DC motor + load physics at the output shaft.
//! - [`drive`]: control table, firmware write rules, position/velocity/current loops.
//! - [`dxl2`]: Dynamixel Protocol 2.0 responder for a bus of drives.
//! - [`rig`]: the pty device thread that owns the bus and steps the physics.

pub mod drive;
pub mod dxl2;
pub mod motor;
pub mod rig;

pub use drive::SimDrive;
pub use rig::{RigError, SimRig};
