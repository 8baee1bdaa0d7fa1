//! A ramp: `start` until `delay_s`, then rising at `rate_per_s` for `duration_s`, then held.

use serde::{Deserialize, Serialize};

/// A ramp excitation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ramp {
    /// Level before the ramp.
    pub start: f64,
    /// Slope (units per second).
    pub rate_per_s: f64,
    /// When the ramp begins.
    pub delay_s: f64,
    /// How long it rises.
    pub duration_s: f64,
}

impl Ramp {
    /// The reference at `t_s`.
    pub fn value_at(&self, t_s: f64) -> f64 {
        self.start + self.rate_per_s * (t_s - self.delay_s).clamp(0.0, self.duration_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_rises_then_holds() {
        let r = Ramp {
            start: 1.0,
            rate_per_s: 2.0,
            delay_s: 1.0,
            duration_s: 3.0,
        };
        assert_eq!(r.value_at(0.5), 1.0);
        assert_eq!(r.value_at(2.0), 3.0);
        assert_eq!(r.value_at(10.0), 7.0);
    }
}
