//! Baud rates as the servos' Baud Rate registers encode them, per protocol.
//!
//! - DYNAMIXEL 2.0 (X series e-manual, address 8): 0 9600, 1 57600, 2 115200, 3 1M, 4 2M,
//!   5 3M, 6 4M, 7 4.5M.
//! - DYNAMIXEL 1.0 (AX/MX e-manual, address 4): rate = 2,000,000 / (value + 1); the codes
//!   ROBOTIS lists for the usual rates (34 is 57600 nominal, 57142.9 real, −0.79 %; 16 is
//!   115200 nominal, 117647 real, +2.12 %, inside a UART's tolerance).
//! - Feetech SCS/STS (FTServo SDK `INST.h` and the STS memory table, address 6): 0 1M,
//!   1 500k, 2 250k, 3 128k, 4 115200, 5 76800, 6 57600, 7 38400.
//! - Modbus RTU: the drive's rate is set in its own parameters, vendor by vendor: none here.
//!
//! Rates are the nominal ones a host opens its port at.

use crate::profile::Protocol;

/// The name of the register that holds the rate, in every built-in profile.
pub const BAUD_RATE: &str = "Baud Rate";

/// (code, rate) pairs of `protocol`, the fastest first; empty when its drives set their
/// rate otherwise.
pub fn codes(protocol: Protocol) -> &'static [(i64, u32)] {
    match protocol {
        Protocol::Dynamixel2 => &[
            (7, 4_500_000),
            (6, 4_000_000),
            (5, 3_000_000),
            (4, 2_000_000),
            (3, 1_000_000),
            (2, 115_200),
            (1, 57_600),
            (0, 9_600),
        ],
        Protocol::Dynamixel1 => &[
            (1, 1_000_000),
            (3, 500_000),
            (4, 400_000),
            (7, 250_000),
            (9, 200_000),
            (16, 115_200),
            (34, 57_600),
            (103, 19_200),
            (207, 9_600),
        ],
        Protocol::Feetech => &[
            (0, 1_000_000),
            (1, 500_000),
            (2, 250_000),
            (3, 128_000),
            (4, 115_200),
            (5, 76_800),
            (6, 57_600),
            (7, 38_400),
        ],
        Protocol::ModbusRtu => &[],
    }
}

/// The rate a Baud Rate register value means; `None` for a value with no listed rate.
pub fn rate_of_code(protocol: Protocol, code: i64) -> Option<u32> {
    codes(protocol)
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, rate)| *rate)
}

/// The Baud Rate register value for `rate`; `None` when the drives cannot run at it.
pub fn code_of_rate(protocol: Protocol, rate: u32) -> Option<i64> {
    codes(protocol)
        .iter()
        .find(|(_, r)| *r == rate)
        .map(|(code, _)| *code)
}

/// Every rate `protocol`'s drives can be set to, the fastest first.
pub fn rates(protocol: Protocol) -> Vec<u32> {
    codes(protocol).iter().map(|(_, rate)| *rate).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_rates_map_both_ways() {
        assert_eq!(rate_of_code(Protocol::Dynamixel2, 1), Some(57_600));
        assert_eq!(code_of_rate(Protocol::Dynamixel2, 1_000_000), Some(3));
        assert_eq!(code_of_rate(Protocol::Feetech, 1_000_000), Some(0));
        assert_eq!(rate_of_code(Protocol::Feetech, 6), Some(57_600));
        assert_eq!(code_of_rate(Protocol::Dynamixel1, 57_600), Some(34));
        assert_eq!(code_of_rate(Protocol::Feetech, 4_500_000), None);
        assert!(rates(Protocol::ModbusRtu).is_empty());
    }

    #[test]
    fn protocol_1_codes_follow_the_formula_within_a_uart_tolerance() {
        for (code, nominal) in codes(Protocol::Dynamixel1) {
            let real = 2_000_000.0 / (*code as f64 + 1.0);
            let error = (real - f64::from(*nominal)).abs() / f64::from(*nominal);
            assert!(error < 0.025, "code {code}: {real} vs {nominal}");
        }
    }
}
