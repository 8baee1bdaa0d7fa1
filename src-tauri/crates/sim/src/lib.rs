//! DriveDeck's physical simulator: drives you can reach through a real serial device.
//!
//! A simulated drive is a motor and load ([`motor`]) under the drive's own cascaded
//! loops, protections and control table ([`drive`]), answering its real wire protocol
//! ([`responder`]) on a pseudo-terminal ([`rig`]) whose wire timing and faults
//! ([`wire`]) are under the test's control. The app, the CLI and the tests open that pty
//! with the serialport crate exactly as they would open a USB adapter, so every test goes
//! through a real serial path.
//!
//! - [`motor`]: DC motor + load physics at the output shaft: winding inductance, back-EMF,
//!   friction, load inertia, an optional resonant second mass, winding temperature.
//! - [`drive`]: control table (bytes, or Modbus holding/input registers) and what every
//!   family shares: the cascaded loops, protections (overheating, overload, input voltage),
//!   Bus Watchdog, encoder and sensor noise.
//! - [`firmware`]: one module per firmware family (DYNAMIXEL X, DYNAMIXEL 1.0, Feetech,
//!   CiA 402, generic) behind one trait: how the family's table maps onto its loops,
//!   write rules, protections and status.
//! - [`responder`]: one responder per protocol — DYNAMIXEL 2.0, DYNAMIXEL 1.0, Feetech and
//!   Modbus RTU.
//! - [`wire`]: baud-rate pacing and seeded line faults (noise, dropped bytes, delay).
//! - [`line_rate`]: each drive listens at the rate its Baud Rate register says (read
//!   off the pty).
//! - [`rig`]: the pty device thread that owns the bus and steps the physics.

pub mod drive;
pub mod firmware;
pub mod line_rate;
pub mod motor;
pub mod responder;
pub mod rig;
pub mod wire;

pub use drive::SimDrive;
pub use responder::HeardPacket;
pub use rig::{RigError, RigOptions, SimRig};
pub use wire::{LineFaults, WireTiming};
