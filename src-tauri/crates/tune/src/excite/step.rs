//! Steps: hold at `offset`, step by `size`, hold, (step back, hold), repeated.

use serde::{Deserialize, Serialize};

/// A step excitation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepProfile {
    /// Level before the first step.
    pub offset: f64,
    /// Step size (signed).
    pub size: f64,
    /// Time each level is held.
    pub hold_s: f64,
    /// Number of steps (up, or up-and-down pairs).
    pub repeats: u32,
    /// Step back down after each step up.
    pub up_and_down: bool,
}

impl StepProfile {
    /// Total duration: an initial hold, then a hold after each step.
    pub fn duration_s(&self) -> f64 {
        let per = if self.up_and_down { 2.0 } else { 1.0 };
        self.hold_s * (1.0 + per * self.repeats as f64)
    }

    /// Step instants, with the level stepped to.
    pub fn edges(&self) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        let mut level = self.offset;
        let mut t = self.hold_s;
        for _ in 0..self.repeats {
            level += self.size;
            out.push((t, level));
            t += self.hold_s;
            if self.up_and_down {
                level -= self.size;
                out.push((t, level));
                t += self.hold_s;
            }
        }
        out
    }

    /// The reference at `t_s`.
    pub fn value_at(&self, t_s: f64) -> f64 {
        self.edges()
            .into_iter()
            .take_while(|(t, _)| *t <= t_s)
            .last()
            .map_or(self.offset, |(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_and_down_returns_to_offset() {
        let p = StepProfile {
            offset: 1.0,
            size: 0.5,
            hold_s: 2.0,
            repeats: 2,
            up_and_down: true,
        };
        assert_eq!(p.value_at(1.9), 1.0);
        assert_eq!(p.value_at(2.0), 1.5);
        assert_eq!(p.value_at(4.5), 1.0);
        assert_eq!(p.value_at(6.1), 1.5);
        assert_eq!(p.duration_s(), 10.0);
        let stair = StepProfile {
            up_and_down: false,
            ..p
        };
        assert_eq!(stair.value_at(4.5), 2.0);
    }
}
