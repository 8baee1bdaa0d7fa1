//! A job's lifecycle: queued → sent → done | failed | timed out | cancelled.
//!
//! The bus side holds a [`Job`]; whoever submitted it holds a [`JobHandle`] to watch or
//! await it. [`Job::finish`] consumes the job, so it can reach a terminal state exactly
//! once; a job dropped without finishing (its link died) reports itself cancelled.

use crate::EventSink;
use drivedeck_domain::{Clock, Command, Event, JobId, JobState};
use tokio::sync::watch;

/// The bus side of a job.
#[derive(Debug)]
pub struct Job {
    /// The job's ID.
    pub id: JobId,
    /// What it asks.
    pub command: Command,
    state: Option<watch::Sender<JobState>>,
}

/// The submitter's side of a job.
#[derive(Clone, Debug)]
pub struct JobHandle {
    /// The job's ID.
    pub id: JobId,
    state: watch::Receiver<JobState>,
}

impl Job {
    /// A queued job and its handle.
    pub fn new(id: JobId, command: Command) -> (Job, JobHandle) {
        let (tx, rx) = watch::channel(JobState::Queued);
        (
            Job {
                id,
                command,
                state: Some(tx),
            },
            JobHandle { id, state: rx },
        )
    }

    /// Marks the job's bytes as on the wire.
    pub fn sent(&self, sink: &dyn EventSink, clock: Clock) {
        if let Some(tx) = &self.state {
            tx.send_replace(JobState::Sent);
        }
        sink.emit(Event::JobChanged {
            job: self.id,
            state: JobState::Sent,
            at: clock.now(),
        });
    }

    /// Ends the job in `state` (which must be terminal) and reports it.
    pub fn finish(mut self, state: JobState, sink: &dyn EventSink, clock: Clock) {
        debug_assert!(state.is_terminal());
        if let Some(tx) = self.state.take() {
            tx.send_replace(state.clone());
        }
        sink.emit(Event::JobChanged {
            job: self.id,
            state,
            at: clock.now(),
        });
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // Only reached when a job was never finished (its actor stopped): the handle must
        // still see a terminal state. The journal learns it from the link's own report.
        if let Some(tx) = self.state.take() {
            tx.send_replace(JobState::Cancelled {
                reason: "the link closed before the job ran".into(),
            });
        }
    }
}

impl JobHandle {
    /// The job's state now.
    pub fn state(&self) -> JobState {
        self.state.borrow().clone()
    }

    /// Waits for the job's terminal state.
    pub async fn outcome(mut self) -> JobState {
        if let Ok(state) = self.state.wait_for(JobState::is_terminal).await {
            return state.clone();
        }
        // The sender is gone: its last value is what the job ended with.
        self.state.borrow().clone()
    }
}
