//! A drive's fault in words: what the CiA 402 statusword and error code (603Fh) say, and
//! several sources of one drive's fault joined into one line.
//!
//! Error codes follow the CiA 301 emergency code classes (the high byte), with the CiA
//! 402 codes drives report most named in full.

use drivedeck_proto::cia402::State;

/// CiA 402 error codes (603Fh) named in full.
const CODES: [(u16, &str); 12] = [
    (0x2310, "continuous over-current"),
    (0x2320, "short circuit"),
    (0x3210, "DC link over-voltage"),
    (0x3220, "DC link under-voltage"),
    (0x4210, "excess temperature, device"),
    (0x4310, "excess temperature, drive"),
    (0x4410, "excess temperature, supply"),
    (0x5530, "EEPROM fault"),
    (0x7121, "motor blocked"),
    (0x7305, "incremental sensor fault"),
    (0x8611, "following error"),
    (0x8612, "reference limit"),
];

/// CiA 301 emergency code classes, by the code's high nibble or byte.
fn class(code: u16) -> &'static str {
    match code >> 8 {
        0x10 => "generic error",
        0x20..=0x23 => "current",
        0x30..=0x33 => "voltage",
        0x40..=0x44 => "temperature",
        0x50..=0x5F => "device hardware",
        0x60..=0x63 => "device software",
        0x70..=0x7F => "additional modules",
        0x80..=0x8F => "monitoring",
        0x90..=0x9F => "external error",
        0xF0..=0xFE => "additional functions",
        0xFF => "device specific",
        _ => "error",
    }
}

/// A CiA 402 error code (603Fh) in words; `None` for 0 (no error).
pub fn error_code_text(code: u16) -> Option<String> {
    if code == 0 {
        return None;
    }
    Some(match CODES.iter().find(|(c, _)| *c == code) {
        Some((_, text)) => format!("error {code:04X}h: {text}"),
        None => format!("error {code:04X}h ({})", class(code)),
    })
}

/// "CiA 402 fault …" when the statusword shows Fault or Fault Reaction Active.
pub fn statusword_text(statusword: i64) -> Option<String> {
    match State::from_statusword(statusword as u16) {
        Some(State::Fault) => Some(format!(
            "CiA 402 fault (statusword {:04X}h; enabling resets it)",
            statusword as u16
        )),
        Some(State::FaultReactionActive) => Some(format!(
            "CiA 402 fault reaction active (statusword {:04X}h)",
            statusword as u16
        )),
        _ => None,
    }
}

/// The faults present, joined with "; "; `None` when there are none.
pub fn join<const N: usize>(faults: [Option<String>; N]) -> Option<String> {
    let present: Vec<String> = faults.into_iter().flatten().collect();
    (!present.is_empty()).then(|| present.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_in_words() {
        assert_eq!(error_code_text(0), None);
        assert_eq!(
            error_code_text(0x4310).as_deref(),
            Some("error 4310h: excess temperature, drive")
        );
        assert_eq!(
            error_code_text(0x3130).as_deref(),
            Some("error 3130h (voltage)")
        );
        assert_eq!(
            error_code_text(0xFF01).as_deref(),
            Some("error FF01h (device specific)")
        );
    }

    #[test]
    fn statusword_faults_and_joining() {
        assert!(statusword_text(0x0018).is_some_and(|t| t.contains("fault")));
        assert!(statusword_text(0x001F).is_some_and(|t| t.contains("reaction")));
        assert_eq!(statusword_text(0x0237), None);
        assert_eq!(join([None, None]), None);
        assert_eq!(
            join([Some("a".to_string()), None, Some("b".to_string())]).as_deref(),
            Some("a; b")
        );
    }
}
