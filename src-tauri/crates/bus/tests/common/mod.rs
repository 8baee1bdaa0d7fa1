//! What the bus's integration tests share: a journal that keeps every event the bus
//! emits, and the DYNAMIXEL 2.0 instruction codes they look for in what a peer heard.

#![allow(dead_code)] // each test file uses its own part

use drivedeck_bus::EventSink;
use drivedeck_domain::{Event, JobId, JobState};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// DYNAMIXEL 2.0 Write instruction.
pub const WRITE: u8 = 0x03;
/// DYNAMIXEL 2.0 broadcast ID.
pub const BROADCAST: u8 = 0xFE;

/// Every event the bus emitted, in order.
#[derive(Default)]
pub struct Journal(pub Mutex<Vec<Event>>);

impl EventSink for Journal {
    fn emit(&self, event: Event) {
        self.0.lock().expect("journal").push(event);
    }
}

impl Journal {
    /// Each job's states, in order.
    pub fn states(&self) -> BTreeMap<JobId, Vec<JobState>> {
        let mut out: BTreeMap<JobId, Vec<JobState>> = BTreeMap::new();
        for event in self.0.lock().expect("journal").iter() {
            if let Event::JobChanged { job, state, .. } = event {
                out.entry(*job).or_default().push(state.clone());
            }
        }
        out
    }
}
