//! A job's lifecycle: queued → sent → done | failed | timed out | cancelled.
//!
//! The bus side holds a [`Job`]; whoever submitted it holds a [`JobHandle`] to watch or
//! await it. [`Job::finish`] consumes the job, so it can reach a terminal state exactly
//! once; a job dropped without finishing (its link died) reports itself cancelled.
//! [`JobQueue`] is a link's queue: one FIFO per [`Priority`] class, the higher class
//! served first, jobs whose deadline passed taken out (timed out, never sent).

use crate::EventSink;
use drivedeck_domain::{Clock, Command, Event, JobId, JobState, Priority};
use std::collections::VecDeque;
use tokio::sync::watch;
use tokio::time::Instant;

/// The bus side of a job.
#[derive(Debug)]
pub struct Job {
    /// The job's ID.
    pub id: JobId,
    /// What it asks.
    pub command: Command,
    /// Its class on the link.
    pub priority: Priority,
    /// When it must have been sent by; past it, a queued job times out unsent.
    pub deadline: Option<Instant>,
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
                priority: Priority::User,
                deadline: None,
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

/// A link's queued jobs: a FIFO per class (the E-stop class never queues: it has its
/// own channel), the higher class first. Writes to a drive keep their order within a
/// class; a safety job overtakes user jobs on purpose.
#[derive(Debug, Default)]
pub struct JobQueue {
    /// Telemetry, user, safety: indexed by [`JobQueue::lane`].
    lanes: [VecDeque<Job>; 3],
    /// The earliest deadline of a queued job, if any has one (may be stale-early).
    earliest: Option<Instant>,
}

impl JobQueue {
    fn lane(priority: Priority) -> usize {
        match priority {
            Priority::Telemetry => 0,
            Priority::User => 1,
            Priority::Safety | Priority::EStop => 2,
        }
    }

    /// Queues `job` behind the others of its class.
    pub fn push(&mut self, job: Job) {
        if let Some(deadline) = job.deadline {
            self.earliest = Some(self.earliest.map_or(deadline, |e| e.min(deadline)));
        }
        self.lanes[JobQueue::lane(job.priority)].push_back(job);
    }

    /// The next job to run: the oldest of the highest class.
    pub fn pop(&mut self) -> Option<Job> {
        self.lanes.iter_mut().rev().find_map(VecDeque::pop_front)
    }

    /// How many jobs wait.
    pub fn len(&self) -> usize {
        self.lanes.iter().map(VecDeque::len).sum()
    }

    /// Whether no job waits.
    pub fn is_empty(&self) -> bool {
        self.lanes.iter().all(VecDeque::is_empty)
    }

    /// Takes every job out, highest class first.
    pub fn drain(&mut self) -> Vec<Job> {
        self.earliest = None;
        self.lanes
            .iter_mut()
            .rev()
            .flat_map(|lane| lane.drain(..))
            .collect()
    }

    /// Takes out the jobs `pred` picks, keeping the others in order.
    pub fn take(&mut self, mut pred: impl FnMut(&Job) -> bool) -> Vec<Job> {
        let mut taken = Vec::new();
        for lane in &mut self.lanes {
            let (out, keep): (Vec<Job>, Vec<Job>) = lane.drain(..).partition(|job| pred(job));
            lane.extend(keep);
            taken.extend(out);
        }
        taken
    }

    /// Takes out the jobs whose deadline is before `now` (cheap when none can be).
    pub fn overdue(&mut self, now: Instant) -> Vec<Job> {
        if self.earliest.is_none_or(|e| e > now) {
            return Vec::new();
        }
        let taken = self.take(|job| job.deadline.is_some_and(|d| d <= now));
        self.earliest = self.lanes.iter().flatten().filter_map(|j| j.deadline).min();
        taken
    }

    /// The earliest deadline among the queued jobs.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.earliest
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

#[cfg(test)]
mod tests {
    use super::*;
    use drivedeck_domain::DriveRef;
    use std::time::Duration;

    fn job(id: u64, priority: Priority, deadline: Option<Instant>) -> Job {
        let drive = DriveRef { link: 1, id: 1 };
        let (mut job, _) = Job::new(JobId(id), Command::Disable { drive });
        job.priority = priority;
        job.deadline = deadline;
        job
    }

    #[test]
    fn higher_classes_first_and_order_within_a_class() {
        let mut queue = JobQueue::default();
        queue.push(job(1, Priority::User, None));
        queue.push(job(2, Priority::Telemetry, None));
        queue.push(job(3, Priority::User, None));
        queue.push(job(4, Priority::Safety, None));
        queue.push(job(5, Priority::Safety, None));
        assert_eq!(queue.len(), 5);
        let order: Vec<u64> = std::iter::from_fn(|| queue.pop()).map(|j| j.id.0).collect();
        assert_eq!(order, [4, 5, 1, 3, 2]);
        assert!(queue.is_empty());
    }

    #[test]
    fn overdue_jobs_come_out_and_the_rest_keep_their_order() {
        let now = Instant::now();
        let ms = Duration::from_millis;
        let mut queue = JobQueue::default();
        queue.push(job(1, Priority::User, Some(now + ms(5))));
        queue.push(job(2, Priority::User, None));
        queue.push(job(3, Priority::User, Some(now + ms(1))));
        queue.push(job(4, Priority::User, Some(now + ms(9))));
        assert!(queue.overdue(now).is_empty());
        assert_eq!(queue.next_deadline(), Some(now + ms(1)));
        let late: Vec<u64> = queue.overdue(now + ms(5)).iter().map(|j| j.id.0).collect();
        assert_eq!(late, [1, 3]);
        assert_eq!(queue.next_deadline(), Some(now + ms(9)));
        let rest: Vec<u64> = queue.drain().iter().map(|j| j.id.0).collect();
        assert_eq!(rest, [2, 4]);
        assert_eq!(queue.next_deadline(), None);
    }
}
