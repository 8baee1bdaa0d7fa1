//! Drive profile parsing of arbitrary text.
//!
//! Invariants: no panic; an error names the source and a line inside the text (or 0); a
//! profile that parses is consistent: every role names one of its registers, writable
//! roles are writable, no two registers of one address space overlap, every default is
//! within its register's limits, the safe stop fits the enable method.

#![no_main]

use drivedeck_proto::profile::{Profile, Role};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Profile::parse(text, "fuzz.toml") {
        Err(error) => {
            assert_eq!(error.source_name, "fuzz.toml");
            assert!(
                error.line <= text.lines().count() + 1,
                "line {} of {}",
                error.line,
                text.lines().count()
            );
            assert!(!error.reason.is_empty());
        }
        Ok(profile) => {
            for (role, register) in profile.roles() {
                assert!(profile.register(&register.name).is_some(), "{role:?}");
                if matches!(
                    role,
                    Role::TorqueEnable | Role::GoalPosition | Role::GoalVelocity
                ) {
                    assert!(register.access.is_writable(), "{role:?}");
                }
            }
            for (i, a) in profile.registers.iter().enumerate() {
                assert!(a.limits().contains(&a.default), "{}", a.name);
                assert!(a.end() <= 1 << 16);
                for b in &profile.registers[i + 1..] {
                    let overlap = a.space == b.space
                        && usize::from(a.address) < b.end()
                        && usize::from(b.address) < a.end();
                    assert!(!overlap, "{} overlaps {}", a.name, b.name);
                    assert_ne!(a.name, b.name);
                }
            }
            assert_eq!(profile.safe_stop.enable(), profile.enable);
            let _ = profile.table_len();
        }
    }
});
