//! The relay test's state machine (Åström–Hägglund): output +d while the error is above
//! +ε, −d once it falls below −ε, and its previous output in between (hysteresis ε).

use serde::{Deserialize, Serialize};

/// A relay with hysteresis.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Relay {
    /// Output amplitude d (about `bias`).
    pub amplitude: f64,
    /// Hysteresis ε (error units).
    pub hysteresis: f64,
    /// Output offset (e.g. the effort holding the operating point).
    pub bias: f64,
    high: bool,
}

impl Relay {
    /// A relay starting high.
    pub fn new(amplitude: f64, hysteresis: f64, bias: f64) -> Self {
        Self {
            amplitude,
            hysteresis,
            bias,
            high: true,
        }
    }

    /// The output for the next sample given the loop error.
    pub fn next(&mut self, error: f64) -> f64 {
        if error > self.hysteresis {
            self.high = true;
        } else if error < -self.hysteresis {
            self.high = false;
        }
        self.bias
            + if self.high {
                self.amplitude
            } else {
                -self.amplitude
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hysteresis_holds_the_output() {
        let mut r = Relay::new(2.0, 0.1, 1.0);
        assert_eq!(r.next(0.0), 3.0);
        assert_eq!(r.next(-0.05), 3.0);
        assert_eq!(r.next(-0.2), -1.0);
        assert_eq!(r.next(0.05), -1.0);
        assert_eq!(r.next(0.11), 3.0);
    }
}
