//! The generic firmware: a drive whose family the simulator does not model (a Modbus RTU
//! profile without CiA 402 objects). It follows the table's own rules only — access and
//! range from the profile — under the shared loops of [`crate::drive`]; its current limit
//! entry defaults to 0 meaning "not set", as Modbus drives' profiles leave it.

use super::{Family, Firmware};
use crate::drive::state::DriveState;

/// The generic firmware (no state beyond the table).
#[derive(Clone, Copy, Debug, Default)]
pub struct Generic;

impl Family for Generic {
    fn firmware(&self) -> Firmware {
        Firmware::Generic
    }

    fn boxed(&self) -> Box<dyn Family> {
        Box::new(*self)
    }

    fn current_limit(&self, drive: &DriveState) -> f64 {
        drive.current_limit(true)
    }
}
