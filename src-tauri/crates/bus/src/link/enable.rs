//! Enabling: the CiA 402 enable walk (Fault Reset, Shutdown, Switch On, Enable Operation, each
//! confirmed by the statusword), the decoded fault detail, and arming the Bus Watchdog at
//! enable.

use super::*;

impl<T: Transport> Actor<T> {
    /// Walks a CiA 402 drive to Operation Enabled: reads the statusword, writes the
    /// controlword command that takes it one step closer (a Fault Reset first if it is
    /// in Fault, once), and again, within [`CIA402_STEPS`] reads.
    pub(super) async fn cia402_enable(
        &mut self,
        profile: &Profile,
        id: u8,
    ) -> Result<(), CommandError> {
        let mut reset_tried = false;
        let mut last = None;
        for _ in 0..CIA402_STEPS {
            let word = self.read_role(id, profile, Role::StatusWord).await?;
            let state = Cia402State::from_statusword(word as u16).ok_or_else(|| {
                CommandError::Refused(format!(
                    "drive {id}'s statusword 0x{word:04X} shows no CiA 402 state"
                ))
            })?;
            last = Some(state);
            if state == Cia402State::OperationEnabled {
                return Ok(());
            }
            let Some(controlword) = state.next_to_enable() else {
                // Initialising or reacting to a fault: it takes no command; look again.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            };
            if controlword == cia402::controlword::FAULT_RESET {
                if reset_tried {
                    return Err(CommandError::Refused(format!(
                        "drive {id} stays in Fault after a fault reset{}",
                        self.fault_detail(id, profile).await
                    )));
                }
                reset_tried = true;
                // The reset acts on a rising edge of bit 7: make sure it was low.
                let low = self.write_request(
                    profile,
                    id,
                    Role::TorqueEnable,
                    i64::from(cia402::controlword::DISABLE_VOLTAGE),
                )?;
                self.command(&low, id).await?;
            }
            let step =
                self.write_request(profile, id, Role::TorqueEnable, i64::from(controlword))?;
            self.command(&step, id).await?;
        }
        Err(CommandError::Refused(format!(
            "drive {id} did not reach Operation Enabled (last seen: {last:?})"
        )))
    }

    /// ": <error text>" from the drive's error register, or nothing.
    pub(super) async fn fault_detail(&mut self, id: u8, profile: &Profile) -> String {
        if profile.role(Role::HardwareError).is_none() {
            return String::new();
        }
        match self.read_role(id, profile, Role::HardwareError).await {
            Ok(bits) => self
                .protocol
                .error_text(bits)
                .map(|text| format!(": {text}"))
                .unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Before torque on: clear a tripped Bus Watchdog and arm it, so the drive stops by
    /// itself if DriveDeck stops talking to it (a crash, a pulled cable). The time
    /// leaves room for a job to another drive retrying: 2 × 2 reply timeouts plus two
    /// poll periods, at least 250 ms.
    pub(super) async fn arm_watchdog(
        &mut self,
        profile: &Profile,
        id: u8,
    ) -> Result<(), CommandError> {
        let Some(register) = profile.role(Role::BusWatchdog).cloned() else {
            return Ok(());
        };
        let poll = Duration::from_secs_f64(1.0 / self.config.poll_hz);
        let window = (self.config.reply_timeout * 4 + poll * 2).max(Duration::from_millis(250));
        let units = (window.as_secs_f64() / register.scale).ceil() as i64;
        let units = units.clamp(1, register.max.unwrap_or(127));
        for raw in [0, units] {
            let request = self.write_register_request(profile, id, &register, raw)?;
            self.command(&request, id).await?;
        }
        Ok(())
    }
}
