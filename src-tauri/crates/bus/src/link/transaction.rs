//! Transactions: one request written, replies read until the expected ones arrived or the
//! reply window closed (wire time, return delays, the allowance), stray and duplicate
//! replies dropped and counted, one retry for a command; and the register reads and writes
//! built on them.

use super::*;

impl<T: Transport> Actor<T> {
    /// Writes `request` and collects its expected replies (or what came in time). A
    /// broadcast write expects none and leaves the drives their turnaround time.
    pub(super) async fn transact(
        &mut self,
        request: &protocol::Request,
    ) -> Result<Vec<Reply>, TxError> {
        let silence = self.protocol.silence_before_request(self.config.baud);
        if !silence.is_zero() {
            tokio::time::sleep_until(self.line_free_at + silence).await;
        }
        // Bytes left over from an earlier, timed-out exchange belong to nobody now.
        self.rx.clear();
        let io = self
            .io
            .as_mut()
            .ok_or_else(|| TxError::Io("the port is closed".into()))?;
        // No flush: on a serial port it is tcdrain, a blocking wait for the UART to empty
        // that would stall this task (and every E-stop behind it) for the request's wire
        // time or a USB frame. The kernel sends what was written at once.
        io.send(&request.bytes)
            .await
            .map_err(|e| TxError::Io(e.to_string()))?;
        let written = Instant::now();
        self.health().exchanges += 1;
        let expected = request.expect.len();
        let mut out = Vec::with_capacity(expected);
        if expected == 0 {
            self.line_free_at = written
                + protocol::wire_time(
                    self.config.baud,
                    self.protocol.bits_per_byte(),
                    request.bytes.len(),
                )
                + self.protocol.broadcast_turnaround();
            return Ok(out);
        }
        let mut deadline = written + self.reply_window(request);
        let mut estops_open = true;
        loop {
            loop {
                match self.protocol.decode(&mut self.rx, request) {
                    // Only the drives asked, each once: a late answer from an earlier,
                    // timed-out exchange is not this request's reply.
                    Ok(Some(reply))
                        if !request.expect.contains(&reply.id)
                            || out.iter().any(|r: &Reply| r.id == reply.id) =>
                    {
                        self.health().corrupt += 1;
                        log::debug!(
                            "link {}: a stray answer from drive {} ignored",
                            self.id,
                            reply.id
                        );
                    }
                    Ok(Some(reply)) => out.push(reply),
                    Ok(None) => break,
                    Err(e) => {
                        self.health().corrupt += 1;
                        log::debug!("link {}: dropped a corrupt frame: {e}", self.id);
                    }
                }
            }
            if out.len() >= expected {
                self.silent = 0;
                self.line_free_at = Instant::now();
                let rtt = written.elapsed();
                let mut health = self.health();
                health.record_rtt(rtt);
                for reply in &out {
                    let drive = health.drives.entry(reply.id).or_default();
                    drive.replies += 1;
                    drive.last_rtt = Some(rtt);
                }
                return Ok(out);
            }
            // With an E-stop waiting, the grace ends the exchange even while replies are
            // still streaming in (a long Sync Read answer): the stop goes first.
            if self.pending_estop.is_some() && Instant::now() >= deadline {
                self.line_free_at = Instant::now();
                return Err(TxError::Timeout { partial: out });
            }
            let io = self
                .io
                .as_mut()
                .ok_or_else(|| TxError::Io("the port is closed".into()))?;
            // An E-stop arriving while we wait cuts the wait short: a reply already on
            // its way gets a frame's time to land (a collision on a half-duplex bus
            // would cost more), then the stop goes out.
            let read = tokio::select! {
                biased;
                reply = self.estops.recv(), if estops_open && self.pending_estop.is_none() => {
                    match reply {
                        Some(reply) => {
                            self.pending_estop = Some(reply);
                            deadline = deadline.min(Instant::now() + self.estop_grace());
                        }
                        // Every handle is gone (shutdown follows): stop listening.
                        None => estops_open = false,
                    }
                    continue;
                }
                read = tokio::time::timeout_at(deadline, io.receive(&mut self.rx)) => read,
            };
            match read {
                Err(_) => {
                    self.line_free_at = Instant::now();
                    self.health().timeouts += 1;
                    if out.is_empty() {
                        self.silent += 1;
                    } else {
                        self.silent = 0;
                    }
                    return Err(TxError::Timeout { partial: out });
                }
                Ok(Ok(0)) => return Err(TxError::Io("the port closed".into())),
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return Err(TxError::Io(e.to_string())),
            }
        }
    }

    /// How long the replies to `request` may take: request and replies on the wire,
    /// each answering drive's return delay, and the configured allowance.
    pub(super) fn reply_window(&self, request: &protocol::Request) -> Duration {
        let wire = protocol::wire_time(
            self.config.baud,
            self.protocol.bits_per_byte(),
            request.bytes.len() + request.reply_bytes,
        );
        let delays = {
            let drives = self.drives.read().unwrap_or_else(|e| e.into_inner());
            request
                .expect
                .iter()
                .map(|id| {
                    drives
                        .get(id)
                        .map_or(UNKNOWN_RETURN_DELAY, |d| d.return_delay)
                })
                .sum::<Duration>()
        };
        wire + delays + self.config.reply_timeout
    }

    /// One request to one drive, one reply from it; retried once on timeout (unless an
    /// E-stop is waiting: it goes first).
    pub(super) async fn command(
        &mut self,
        request: &protocol::Request,
        id: u8,
    ) -> Result<Reply, CommandError> {
        let mut last = CommandError::NoAnswer(format!("drive {id} did not answer"));
        for attempt in 0..2 {
            if attempt > 0 {
                if self.pending_estop.is_some() {
                    break;
                }
                self.health().retries += 1;
            }
            match self.transact(request).await {
                Ok(mut replies) => {
                    if replies.is_empty() {
                        return Err(CommandError::Refused(format!(
                            "a request to drive {id} that nobody answers"
                        )));
                    }
                    let reply = replies.remove(0);
                    if reply.id != id {
                        last = CommandError::Refused(format!(
                            "reply from ID {} instead of {id}",
                            reply.id
                        ));
                        continue;
                    }
                    return match &reply.refused {
                        None => Ok(reply),
                        Some(text) => {
                            Err(CommandError::Refused(format!("drive {id} refused: {text}")))
                        }
                    };
                }
                Err(TxError::Timeout { .. }) => {
                    self.health().drives.entry(id).or_default().missed += 1;
                }
                Err(TxError::Io(e)) => return Err(CommandError::Io(e)),
            }
        }
        Err(last)
    }

    /// Reads one role's value (signed, as the drive means it) from drive `id`.
    pub(super) async fn read_role(
        &mut self,
        id: u8,
        profile: &Profile,
        role: Role,
    ) -> Result<i64, CommandError> {
        let register = protocol::role_register(profile, role)?.clone();
        self.read_register(id, profile, &register).await
    }

    pub(super) async fn read_register(
        &mut self,
        id: u8,
        profile: &Profile,
        register: &Register,
    ) -> Result<i64, CommandError> {
        let block = Block::of(register);
        let request = self.protocol.read(id, &block)?;
        let reply = self.command(&request, id).await?;
        if reply.data.len() != block.data_len() {
            return Err(format!(
                "drive {id} answered {} bytes reading {} ({} expected)",
                reply.data.len(),
                register.name,
                block.data_len()
            )
            .into());
        }
        let raw = block
            .raw(register, &reply.data)
            .ok_or_else(|| format!("short reply reading {}", register.name))?;
        Ok(protocol::from_wire(
            self.protocol.as_ref(),
            profile,
            register,
            raw,
        ))
    }

    /// A write of `value` (signed, as the drive means it) into `role`'s register,
    /// checked against the profile first.
    pub(super) fn write_request(
        &self,
        profile: &Profile,
        id: u8,
        role: Role,
        value: i64,
    ) -> Result<protocol::Request, String> {
        let register = protocol::role_register(profile, role)?;
        self.write_register_request(profile, id, register, value)
    }

    pub(super) fn write_register_request(
        &self,
        profile: &Profile,
        id: u8,
        register: &Register,
        value: i64,
    ) -> Result<protocol::Request, String> {
        let raw = protocol::to_wire(self.protocol.as_ref(), profile, register, value)?;
        self.protocol.write(id, register, raw)
    }
}
