//! A maximal-length pseudo-random binary sequence (PRBS).
//!
//! A Fibonacci linear-feedback shift register of `order` n bits whose feedback taps are a
//! primitive polynomial over GF(2) visits every non-zero state once per period, so the
//! sequence repeats every 2ⁿ − 1 bits; its spectrum is flat (within the sinc of the bit
//! time) up to about 0.44 / bit time. Each bit lasts `bit_time_s` and maps to ±amplitude.

use crate::TuneError;
use serde::{Deserialize, Serialize};

/// Feedback taps (1-based bit positions) of a primitive polynomial for each order 3–20
/// (standard maximal-length LFSR tables, e.g. Xilinx XAPP052).
fn taps(order: u32) -> Option<&'static [u32]> {
    Some(match order {
        3 => &[3, 2],
        4 => &[4, 3],
        5 => &[5, 3],
        6 => &[6, 5],
        7 => &[7, 6],
        8 => &[8, 6, 5, 4],
        9 => &[9, 5],
        10 => &[10, 7],
        11 => &[11, 9],
        12 => &[12, 6, 4, 1],
        13 => &[13, 4, 3, 1],
        14 => &[14, 5, 3, 1],
        15 => &[15, 14],
        16 => &[16, 15, 13, 4],
        17 => &[17, 14],
        18 => &[18, 11],
        19 => &[19, 6, 2, 1],
        20 => &[20, 17],
        _ => return None,
    })
}

/// A PRBS excitation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prbs {
    /// Register length n; the period is 2ⁿ − 1 bits.
    pub order: u32,
    /// Duration of one bit.
    pub bit_time_s: f64,
    /// Level of a 1 bit (a 0 bit is −amplitude).
    pub amplitude: f64,
    bits: Vec<bool>,
}

impl Prbs {
    /// A PRBS of `order` 3–20.
    pub fn new(order: u32, bit_time_s: f64, amplitude: f64) -> Result<Self, TuneError> {
        let taps = taps(order)
            .ok_or_else(|| TuneError::InvalidParameter(format!("PRBS order {order} (3–20)")))?;
        if !bit_time_s.is_finite() || bit_time_s <= 0.0 {
            return Err(TuneError::InvalidParameter(format!(
                "bit time {bit_time_s} s"
            )));
        }
        let mut state: u32 = 1;
        let period = (1usize << order) - 1;
        let mut bits = Vec::with_capacity(period);
        for _ in 0..period {
            bits.push(state & 1 == 1);
            let feedback = taps
                .iter()
                .fold(0, |acc, &t| acc ^ (state >> (order - t)) & 1);
            state = (state >> 1) | (feedback << (order - 1));
        }
        Ok(Self {
            order,
            bit_time_s,
            amplitude,
            bits,
        })
    }

    /// Bits per period, 2ⁿ − 1.
    pub fn period_bits(&self) -> usize {
        self.bits.len()
    }

    /// One period of bits.
    pub fn bits(&self) -> &[bool] {
        &self.bits
    }

    /// The reference at `t_s` (periodic).
    pub fn value_at(&self, t_s: f64) -> f64 {
        let k = (t_s.max(0.0) / self.bit_time_s).floor() as usize % self.bits.len();
        if self.bits[k] {
            self.amplitude
        } else {
            -self.amplitude
        }
    }
}

/// The register's period found by running it until its state repeats (for tests: the
/// stored sequence is one period only if this equals 2ⁿ − 1).
pub fn register_period(order: u32) -> Option<usize> {
    let taps = taps(order)?;
    let mut state: u32 = 1;
    for k in 1..=(1usize << order) {
        let feedback = taps
            .iter()
            .fold(0, |acc, &t| acc ^ (state >> (order - t)) & 1);
        state = (state >> 1) | (feedback << (order - 1));
        if state == 1 {
            return Some(k);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_order_has_the_maximal_length_period() {
        for n in 3..=20 {
            assert_eq!(register_period(n), Some((1 << n) - 1), "order {n}");
        }
    }

    #[test]
    fn one_period_is_balanced() {
        let p = Prbs::new(10, 1e-3, 0.5).expect("prbs");
        let ones = p.bits().iter().filter(|b| **b).count();
        assert_eq!(ones, 512);
        assert_eq!(p.period_bits(), 1023);
        assert_eq!(p.value_at(0.0), 0.5);
        assert_eq!(p.value_at(1023e-3 + 0.5e-3), p.value_at(0.5e-3));
        assert!(Prbs::new(2, 1e-3, 1.0).is_err());
    }
}
