//! A tuning run, played on one drive as one job: checked against the drive's limits
//! before anything is sent ([`crate::tuning::check_test`]), then the gains in force are
//! read, and the link does nothing else on its queue while the test plays: each cycle
//! writes the reference (when it changed: a Sync Write to the drive alone where the
//! protocol has one, which the drive does not answer, so the cycle is one exchange) and
//! reads the drive's position, velocity, current, output and clock in one read, as fast
//! as the wire allows. E-stops still
//! come first (and end the run), a safe stop too; an `AbortTune` job, a fault, a drive
//! that stops answering or leaves its travel window end it early. At the end the drive
//! gets back the target it had (or holds where the test started) and the gains are
//! checked against those read at the start. Other drives on the link get their state
//! polls (faults, torque) during a run, not their telemetry.

use super::*;
use crate::tuning::{self, Waveform};
use drivedeck_domain::{RunClock, RunEnd, RunOutcome, RunStart, TestLoop, TestSpec, TuneSample};

/// Readings gathered before they are sent on as events.
const BATCH: usize = 32;
/// How often the state poll (torque, faults of every drive) runs during a test.
const STATE_EVERY: Duration = Duration::from_millis(100);
/// Reads in a row with no answer that end a run.
const MAX_MISSES: u32 = 5;
/// DYNAMIXEL X's Realtime Tick wraps at this many ms.
const TICK_WRAP_MS: f64 = 32768.0;

/// How a run's loop ended.
enum Ended {
    Completed,
    /// Aborted; the drive is still under the link's command.
    Aborted(String),
    /// An E-stop or safe stop is waiting: the drive is left to it.
    Stopped,
    /// The port failed.
    Lost(String),
}

/// What the loop measured.
#[derive(Default)]
struct Measured {
    samples: u64,
    /// Host times of the readings, s from the start.
    times: Vec<f64>,
    /// Wire time of every exchange made (bytes both ways, the drive's return delay).
    wire: Duration,
}

impl Measured {
    fn rate_and_jitter(&self) -> (f64, f64) {
        let n = self.times.len();
        if n < 3 {
            return (0.0, 0.0);
        }
        let span = self.times[n - 1] - self.times[0];
        let mean = span / (n - 1) as f64;
        let var = self
            .times
            .windows(2)
            .map(|w| (w[1] - w[0] - mean).powi(2))
            .sum::<f64>()
            / (n - 1) as f64;
        (if mean > 0.0 { 1.0 / mean } else { 0.0 }, var.sqrt())
    }
}

/// Unwraps the drive's millisecond tick into seconds since the run started.
#[derive(Default)]
struct TickClock {
    last: Option<f64>,
    turns: f64,
}

impl TickClock {
    fn seconds(&mut self, tick_ms: f64) -> f64 {
        if let Some(last) = self.last
            && tick_ms < last
        {
            self.turns += 1.0;
        }
        self.last = Some(tick_ms);
        (self.turns * TICK_WRAP_MS + tick_ms) / 1000.0
    }
}

impl<T: Transport> Actor<T> {
    /// Runs a [`Command::Tune`] job to its end. `Err` only when the link failed.
    pub(super) async fn execute_tune(
        &mut self,
        job: Job,
        drive: DriveRef,
        profile: Arc<Profile>,
    ) -> Result<(), String> {
        let Command::Tune { test, .. } = job.command.clone() else {
            job.finish(
                JobState::Failed {
                    reason: "not a tuning job".into(),
                },
                self.sink.as_ref(),
                self.clock,
            );
            return Ok(());
        };
        let id = drive.id;
        let (status, position) = match self
            .drives
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            Some(entry) => (entry.status.clone(), entry.last_position),
            None => return Ok(()),
        };
        // The same checks as at submission, again: the drive may have changed since.
        let checked = tuning::check_test(&status, position, &test)
            .and_then(|()| Waveform::new(&test.excitation));
        let (waveform, start_position) = match (checked, position) {
            (Ok(waveform), Some(position)) => (waveform, position),
            (Err(reason), _) => {
                job.finish(JobState::Failed { reason }, self.sink.as_ref(), self.clock);
                return Ok(());
            }
            (Ok(_), None) => {
                job.finish(
                    JobState::Failed {
                        reason: "the drive's position is not known".into(),
                    },
                    self.sink.as_ref(),
                    self.clock,
                );
                return Ok(());
            }
        };
        let plan = self.run_plan(id, &profile);
        let first = self.reference_target(test.test_loop, start_position, 0.0);
        let writes = match self.reference_writes(&profile, id, first) {
            Ok(writes) => writes,
            Err(reason) => {
                job.finish(
                    JobState::Failed {
                        reason: format!(
                            "{} cannot take the test's reference: {reason}",
                            profile.name
                        ),
                    },
                    self.sink.as_ref(),
                    self.clock,
                );
                return Ok(());
            }
        };
        job.sent(self.sink.as_ref(), self.clock);
        self.jogs.remove(&id);
        let gain_names = tuning::gain_registers(&profile);
        let gains = match self.read_registers(&profile, id, &gain_names).await {
            Ok(gains) => gains,
            Err(e) => {
                let reason = format!("could not read the gains in force: {e}");
                return self.finish_job(job, Err(retag(e, reason)));
            }
        };
        let clock = if profile.register("Realtime Tick").is_some() {
            RunClock::Drive
        } else {
            RunClock::Host
        };
        self.sink.emit(Event::RunStarted {
            start: Box::new(RunStart {
                job: job.id,
                drive,
                test: test.clone(),
                profile: profile.name.clone(),
                clock,
                mode_before: Some(status.mode),
                target_before: status.target,
                start_position,
                gains: gains.clone(),
                wire_limit_hz: self.wire_limit_hz(id, &writes, &plan),
                at: self.clock.now(),
            }),
        });
        let mut measured = Measured::default();
        let ended = self
            .play(
                drive,
                &profile,
                &test,
                waveform,
                start_position,
                &plan,
                &mut measured,
            )
            .await;
        let outcome = match &ended {
            Ended::Completed => RunOutcome::Completed,
            Ended::Aborted(reason) => RunOutcome::Aborted {
                reason: reason.clone(),
            },
            Ended::Stopped => RunOutcome::Aborted {
                reason: "an E-stop or safe stop ended the run".into(),
            },
            Ended::Lost(reason) => RunOutcome::Aborted {
                reason: format!("link lost: {reason}"),
            },
        };
        let mut outcome = outcome;
        if matches!(ended, Ended::Completed | Ended::Aborted(_)) {
            let restore = match (test.test_loop, status.target) {
                (TestLoop::Position, Some(target @ Target::Position(_)))
                | (TestLoop::Velocity, Some(target @ Target::Velocity(_))) => target,
                (TestLoop::Position, _) => Target::Position(start_position),
                (TestLoop::Velocity, _) => Target::Velocity(0.0),
            };
            if let Err(e) = self.restore(&profile, id, restore, &gains).await {
                if let CommandError::Io(reason) = &e {
                    outcome = RunOutcome::Aborted {
                        reason: format!("link lost while putting the drive back: {reason}"),
                    };
                    self.end_run(&job, drive, &outcome, &measured);
                    return self.finish_job(job, Err(e));
                }
                let note = format!("the drive was not put back as it was: {e}");
                outcome = match outcome {
                    RunOutcome::Completed => RunOutcome::Aborted { reason: note },
                    RunOutcome::Aborted { reason } => RunOutcome::Aborted {
                        reason: format!("{reason}; {note}"),
                    },
                };
            }
        }
        self.end_run(&job, drive, &outcome, &measured);
        match (ended, outcome) {
            (Ended::Lost(reason), _) => {
                job.finish(
                    JobState::Failed {
                        reason: format!("link lost: {reason}"),
                    },
                    self.sink.as_ref(),
                    self.clock,
                );
                Err(reason)
            }
            (_, RunOutcome::Completed) => {
                job.finish(JobState::Done, self.sink.as_ref(), self.clock);
                Ok(())
            }
            (_, RunOutcome::Aborted { reason }) => {
                job.finish(
                    JobState::Failed {
                        reason: format!("aborted: {reason}"),
                    },
                    self.sink.as_ref(),
                    self.clock,
                );
                Ok(())
            }
        }
    }

    fn end_run(&self, job: &Job, drive: DriveRef, outcome: &RunOutcome, measured: &Measured) {
        let (achieved_rate_hz, jitter_s) = measured.rate_and_jitter();
        let wire_s = measured.wire.as_secs_f64();
        let played_limit_hz =
            (measured.samples > 0 && wire_s > 0.0).then(|| measured.samples as f64 / wire_s);
        self.sink.emit(Event::RunEnded {
            end: RunEnd {
                job: job.id,
                drive,
                outcome: outcome.clone(),
                samples: measured.samples,
                achieved_rate_hz,
                jitter_s,
                played_limit_hz,
                at: self.clock.now(),
            },
        });
    }

    /// The set point `offset` from the start asks for in `test_loop`.
    fn reference_target(&self, test_loop: TestLoop, start_position: f64, offset: f64) -> Target {
        match test_loop {
            TestLoop::Position => Target::Position(start_position + offset),
            TestLoop::Velocity => Target::Velocity(offset),
        }
    }

    /// One read of everything a run records from drive `id` (see [`run_reads`]).
    fn run_plan(&self, id: u8, profile: &Arc<Profile>) -> Vec<PlannedRead> {
        let registers = run_registers(profile);
        let mut plan = Vec::new();
        for block in Block::plan(&registers, self.protocol.max_read()) {
            let inside: Vec<Register> = registers
                .iter()
                .filter(|r| block.contains(r))
                .map(|r| (*r).clone())
                .collect();
            match self.protocol.read_many(&block, &[id]) {
                Ok(requests) => plan.extend(requests.into_iter().map(|request| PlannedRead {
                    block: block.clone(),
                    request,
                    drives: vec![(id, Arc::clone(profile))],
                    registers: inside.clone(),
                })),
                Err(e) => log::error!("link {}: cannot read drive {id} for a run: {e}", self.id),
            }
        }
        plan
    }

    /// The wire time of `requests` to drive `id` (see [`cycle_limit_hz`]).
    fn exchanges_time<'a>(
        &self,
        id: u8,
        requests: impl Iterator<Item = &'a protocol::Request>,
    ) -> Duration {
        let delay = self
            .drives
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
            .map_or(UNKNOWN_RETURN_DELAY, |d| d.return_delay);
        cycle_time(
            self.protocol.as_ref(),
            self.baud.load(Ordering::Acquire),
            delay,
            requests,
        )
    }

    /// The most cycles a second the wire allows for this drive (see [`cycle_limit_hz`]).
    fn wire_limit_hz(&self, id: u8, writes: &[protocol::Request], plan: &[PlannedRead]) -> f64 {
        let cycle = self.exchanges_time(
            id,
            writes.iter().chain(plan.iter().map(|read| &read.request)),
        );
        1.0 / cycle.as_secs_f64().max(1e-6)
    }

    /// Reads `names` (SI values) one by one.
    async fn read_registers(
        &mut self,
        profile: &Profile,
        id: u8,
        names: &[String],
    ) -> Result<Vec<(String, f64)>, CommandError> {
        let mut values = Vec::with_capacity(names.len());
        for name in names {
            let Some(register) = profile.register(name) else {
                continue;
            };
            let raw = self.read_register(id, profile, register).await?;
            values.push((name.clone(), register.to_si(raw)));
        }
        Ok(values)
    }

    /// Plays the test until it ends, is aborted, or a stop or loss ends it.
    #[allow(clippy::too_many_arguments)]
    async fn play(
        &mut self,
        drive: DriveRef,
        profile: &Profile,
        test: &TestSpec,
        mut waveform: Waveform,
        start_position: f64,
        plan: &[PlannedRead],
        measured: &mut Measured,
    ) -> Ended {
        let id = drive.id;
        let settle = test.settle_s;
        let excitation_s = test.excitation.duration_s();
        let total = excitation_s + 2.0 * settle;
        let started = Instant::now();
        let mut next_state = started + STATE_EVERY;
        // The raw value last written: a reference that encodes to the same count is not
        // written again (at a low frequency a chirp's count repeats for several cycles).
        let mut last_raw: Option<i64> = None;
        // The same read every cycle: its wire time is worked out once.
        let read_time = self.exchanges_time(id, plan.iter().map(|read| &read.request));
        let mut misses = 0;
        let mut position = start_position;
        let mut tick = TickClock::default();
        let mut samples = Vec::with_capacity(BATCH);
        let mut tune_samples = Vec::with_capacity(BATCH);
        let role = |role: Role| profile.role(role);
        let ended = loop {
            if self.pending_estop.is_none()
                && let Ok(reply) = self.estops.try_recv()
            {
                self.pending_estop = Some(reply);
            }
            if self.pending_estop.is_some() {
                break Ended::Stopped;
            }
            self.drain_requests();
            let aborts = self
                .queue
                .take(|job| matches!(job.command, Command::AbortTune { drive: d } if d == drive));
            if !aborts.is_empty() {
                for abort in aborts {
                    abort.finish(JobState::Done, self.sink.as_ref(), self.clock);
                }
                break Ended::Aborted("aborted by the user".into());
            }
            if self.shutdown.is_some() {
                break Ended::Aborted("the link was disconnected".into());
            }
            let t = started.elapsed().as_secs_f64();
            if t >= total {
                break Ended::Completed;
            }
            let te = t - settle;
            let offset = match &mut waveform {
                Waveform::Signal(f) => f(te),
                Waveform::Relay(relay) if (0.0..excitation_s).contains(&te) => {
                    relay.next(start_position - position)
                }
                Waveform::Relay(_) => 0.0,
            };
            let target = self.reference_target(test.test_loop, start_position, offset);
            let reference = match target {
                Target::Position(p) => p,
                Target::Velocity(v) => v,
            };
            let raw = match goal_raw(self.protocol.as_ref(), profile, target) {
                Ok((_, raw)) => raw,
                Err(e) => break Ended::Aborted(format!("the reference cannot be written: {e}")),
            };
            if last_raw != Some(raw) {
                let writes = match self.reference_writes(profile, id, target) {
                    Ok(writes) => writes,
                    Err(e) => {
                        break Ended::Aborted(format!("the reference cannot be written: {e}"));
                    }
                };
                let sent = self.send_reference(id, &writes).await;
                measured.wire += self.exchanges_time(id, writes.iter());
                if let Err(ended) = sent {
                    break ended;
                }
                last_raw = Some(raw);
            }
            measured.wire += read_time;
            let readings = match self.poll(plan).await {
                Ok(readings) => readings,
                Err(TxError::Io(e)) => break Ended::Lost(e),
                Err(TxError::Timeout { .. }) => BTreeMap::new(),
            };
            let Some(reading) = readings.get(&id) else {
                misses += 1;
                if misses >= MAX_MISSES {
                    break Ended::Aborted(format!(
                        "drive {id} stopped answering ({misses} reads in a row)"
                    ));
                }
                continue;
            };
            misses = 0;
            let si = |register: Option<&Register>| {
                let register = register?;
                Some(register.to_si(reading.get(Some(register))?))
            };
            let (Some(p), Some(v)) = (
                si(role(Role::PresentPosition)),
                si(role(Role::PresentVelocity)),
            ) else {
                continue;
            };
            let t_us = self.clock.now();
            position = p;
            measured.samples += 1;
            measured.times.push(started.elapsed().as_secs_f64());
            samples.push(TelemetrySample {
                drive,
                t_us,
                position: p,
                velocity: v,
                current: si(role(Role::PresentCurrent)).unwrap_or(f64::NAN),
            });
            tune_samples.push(TuneSample {
                drive,
                t_us,
                reference,
                // The output (PWM duty) is in % of full: recorded as a fraction.
                output: si(role(Role::PresentOutput)).map_or(f64::NAN, |pct| pct / 100.0),
                drive_time_s: profile
                    .register("Realtime Tick")
                    .and_then(|r| reading.get(Some(r)))
                    .map_or(f64::NAN, |ms| tick.seconds(ms as f64)),
            });
            if samples.len() >= BATCH {
                self.flush_run_samples(&mut samples, &mut tune_samples);
            }
            self.count_poll();
            if reading.alarms != 0
                && let Some(alarm) = self.protocol.alarm_text(reading.alarms)
            {
                break Ended::Aborted(format!("drive {id} reports: {alarm}"));
            }
            if (p - start_position).abs() > test.travel_window_rad {
                break Ended::Aborted(format!(
                    "drive {id} left its travel window: {:.2}° from the start, the window is ±{:.2}°",
                    (p - start_position).to_degrees(),
                    test.travel_window_rad.to_degrees()
                ));
            }
            if Instant::now() >= next_state {
                next_state = Instant::now() + STATE_EVERY;
                if let Err(TxError::Io(e)) = self.poll_state().await {
                    break Ended::Lost(e);
                }
                let status = self
                    .drives
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&id)
                    .map(|entry| entry.status.clone());
                // A fault first: a drive that shuts itself down on one is also disabled,
                // and the fault is what the user needs to read.
                match status {
                    Some(DriveStatus {
                        fault: Some(fault), ..
                    }) => break Ended::Aborted(format!("drive {id} reports a fault: {fault}")),
                    Some(status) if !status.enabled => {
                        break Ended::Aborted(format!("drive {id} was disabled during the run"));
                    }
                    _ => {}
                }
            }
        };
        self.flush_run_samples(&mut samples, &mut tune_samples);
        if let Some(entry) = self.write_drives().get_mut(&id) {
            entry.last_position = Some(position);
        }
        ended
    }

    /// The writes that set the run's reference to `target`: one the drive acts on without
    /// answering where the protocol has it and one write is all the target takes (see
    /// [`protocol::LinkProtocol::write_unanswered`]; the reading that follows shows
    /// whether the drive followed), else the target's acknowledged writes.
    fn reference_writes(
        &self,
        profile: &Profile,
        id: u8,
        target: Target,
    ) -> Result<Vec<protocol::Request>, String> {
        if !is_cia402(profile) {
            let (register, raw) = goal_raw(self.protocol.as_ref(), profile, target)?;
            if let Some(write) = self.protocol.write_unanswered(id, register, raw) {
                return write.map(|write| vec![write]);
            }
        }
        self.target_writes(profile, id, target)
    }

    /// Sends a reference's writes: unanswered ones go out and the cycle goes on, the
    /// others wait for the drive's acknowledgement.
    async fn send_reference(&mut self, id: u8, writes: &[protocol::Request]) -> Result<(), Ended> {
        for write in writes {
            let sent = if write.expect.is_empty() {
                self.transact(write).await.map(|_| ()).map_err(|e| match e {
                    TxError::Io(e) => CommandError::Io(e),
                    TxError::Timeout { .. } => CommandError::NoAnswer(String::new()),
                })
            } else {
                self.command(write, id).await.map(|_| ())
            };
            match sent {
                Ok(()) => {}
                Err(CommandError::Io(e)) => return Err(Ended::Lost(e)),
                Err(e) => {
                    return Err(Ended::Aborted(format!(
                        "the drive did not take the reference: {e}"
                    )));
                }
            }
        }
        Ok(())
    }

    fn flush_run_samples(&self, samples: &mut Vec<TelemetrySample>, tune: &mut Vec<TuneSample>) {
        if !samples.is_empty() {
            self.sink.emit(Event::Samples {
                samples: std::mem::take(samples),
            });
        }
        if !tune.is_empty() {
            self.sink.emit(Event::TuneSamples {
                samples: std::mem::take(tune),
            });
        }
    }

    /// Puts the drive back: `target`, and any gain that differs from `gains` written
    /// back. The drive's status follows.
    async fn restore(
        &mut self,
        profile: &Profile,
        id: u8,
        target: Target,
        gains: &[(String, f64)],
    ) -> Result<(), CommandError> {
        let writes = self
            .target_writes(profile, id, target)
            .map_err(CommandError::Refused)?;
        for write in &writes {
            self.command(write, id).await?;
        }
        let changed = {
            let mut drives = self.write_drives();
            drives.get_mut(&id).map(|entry| {
                entry.status.target = Some(target);
                entry.status.clone()
            })
        };
        if let Some(status) = changed {
            self.sink.emit(Event::DriveChanged {
                status,
                at: self.clock.now(),
            });
        }
        let names: Vec<String> = gains.iter().map(|(name, _)| name.clone()).collect();
        let now = self.read_registers(profile, id, &names).await?;
        for ((name, before), (_, after)) in gains.iter().zip(&now) {
            if before == after {
                continue;
            }
            let Some(register) = profile.register(name) else {
                continue;
            };
            let raw = register
                .from_si(*before)
                .ok_or_else(|| CommandError::Refused(format!("{name} cannot hold {before}")))?;
            log::warn!(
                "link {}: drive {id}'s {name} changed during a run ({before} → {after}); written back",
                self.id
            );
            let write = self
                .write_register_request(profile, id, register, raw)
                .map_err(CommandError::Refused)?;
            self.command(&write, id).await?;
        }
        Ok(())
    }
}

/// The registers a run reads each cycle: the telemetry roles, the drive's output
/// (its present output role: PWM duty) and its clock (Realtime Tick) where it has them.
fn run_registers(profile: &Profile) -> Vec<&Register> {
    let mut registers: Vec<&Register> = TELEMETRY
        .iter()
        .filter_map(|role| profile.role(*role))
        .collect();
    registers.extend(profile.role(Role::PresentOutput));
    registers.extend(profile.register("Realtime Tick"));
    registers
}

/// The read requests of a run's cycle on drive `id`.
pub(super) fn run_reads(
    protocol: &dyn LinkProtocol,
    profile: &Profile,
    id: u8,
) -> Vec<protocol::Request> {
    Block::plan(&run_registers(profile), protocol.max_read())
        .iter()
        .filter_map(|block| protocol.read_many(block, &[id]).ok())
        .flatten()
        .collect()
}

/// The most cycles a second `requests` (each with its reply and the drive's return
/// delay) allow at `baud`.
pub(super) fn cycle_limit_hz<'a>(
    protocol: &dyn LinkProtocol,
    baud: u32,
    return_delay: Duration,
    requests: impl Iterator<Item = &'a protocol::Request>,
) -> f64 {
    let cycle = cycle_time(protocol, baud, return_delay, requests);
    1.0 / cycle.as_secs_f64().max(1e-6)
}

/// The wire time of `requests`: their bytes and their replies' at `baud`, and the
/// drive's return delay before each reply (a write nobody answers has neither).
fn cycle_time<'a>(
    protocol: &dyn LinkProtocol,
    baud: u32,
    return_delay: Duration,
    requests: impl Iterator<Item = &'a protocol::Request>,
) -> Duration {
    let (bytes, replies) = requests.fold((0, 0u32), |(bytes, n), r| {
        (
            bytes + r.bytes.len() + r.reply_bytes,
            n + u32::try_from(r.expect.len()).unwrap_or(u32::MAX),
        )
    });
    protocol::wire_time(baud, protocol.bits_per_byte(), bytes) + return_delay * replies
}

/// The same kind of error with a clearer message.
fn retag(error: CommandError, reason: String) -> CommandError {
    match error {
        CommandError::NoAnswer(_) => CommandError::NoAnswer(reason),
        CommandError::Refused(_) => CommandError::Refused(reason),
        CommandError::Io(e) => CommandError::Io(e),
    }
}
