//! Discovery: which drives answer on a port, in which protocol, at which baud rate.
//!
//! [`scan_serial`] opens the port at each baud rate asked for and tries each protocol
//! there ([`scan_io`] does one protocol at one baud over any byte stream):
//!
//! - DYNAMIXEL 2.0: one broadcast ping collects every drive's answer (model number and
//!   firmware come with it), in the window the ROBOTIS SDK allows for 253 drives; each
//!   drive found is then pinged alone for its round trip. If garbled answers were heard,
//!   every ID is pinged alone to find the ones two drives share.
//! - DYNAMIXEL 1.0 and Feetech: each ID 0–253 is pinged alone with a short timeout (a
//!   broadcast ping is answered by nobody on 1.0, and by every Feetech servo at once on a
//!   real bus, where the answers collide); the model number and firmware are then read
//!   from the control table at the addresses the known profiles give.
//! - Modbus RTU (no ping function): each unit 1–247 is asked for a register the known
//!   profiles name (a Model Number entry if one has it, else the statusword). Data, or
//!   the exceptions a real drive gives for a wrong register or value (01/02/03), mean a
//!   drive is there; 0A/0B (a gateway: no path, the target did not answer) mean nobody
//!   is; a unit that answers only with 04 (or another failure code) is reported as a
//!   note, not as a drive, since gateways in front of an empty bus answer so too. When
//!   no address at all is silent, one server answers for every address: only the units
//!   that gave data are drives, the rest are one note.
//!
//! A drive is matched to a known profile by its model number (Modbus profiles without an
//! identity register by the register map that answered, and the report says so). Two
//! drives answering one ID show as two answers to one ping, or as garbled bytes where
//! one answer was expected: that ID is flagged as an ID conflict.

use crate::link::{LinkError, open_serial};
use crate::protocol::{self, Block, LinkProtocol, Reply, Request};
use bytes::BytesMut;
use drivedeck_proto::modbus::ExceptionCode;
use drivedeck_proto::profile::{Profile, Protocol, Role};
use serde::Serialize;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// What to try.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Protocols, in the order tried.
    pub protocols: Vec<Protocol>,
    /// Baud rates, in the order tried; empty: [`default_bauds`] of each protocol.
    pub bauds: Vec<u32>,
    /// How long a drive may take to answer beyond the wire time of question and answer
    /// (the adapter's latency: 1–2 ms for a good one, 16 ms for an FTDI left at its
    /// default latency timer).
    pub timeout: Duration,
    /// The drive models to match answers against.
    pub profiles: Vec<Profile>,
}

impl ScanOptions {
    /// Every protocol at its usual baud rates, 10 ms allowance, the built-in profiles.
    pub fn new(profiles: Vec<Profile>) -> ScanOptions {
        ScanOptions {
            protocols: vec![
                Protocol::Dynamixel2,
                Protocol::Dynamixel1,
                Protocol::Feetech,
                Protocol::ModbusRtu,
            ],
            bauds: Vec::new(),
            timeout: Duration::from_millis(10),
            profiles,
        }
    }

    /// Checks the options: something to try, sensible rates and allowance.
    pub fn validate(&self) -> Result<(), ScanError> {
        if self.protocols.is_empty() {
            return Err(ScanError::Options("no protocol to try".into()));
        }
        if let Some(baud) = self.bauds.iter().find(|b| !(300..=12_000_000).contains(*b)) {
            return Err(ScanError::Options(format!(
                "baud rate {baud} is outside 300 – 12000000"
            )));
        }
        if self.timeout.is_zero() || self.timeout > Duration::from_secs(1) {
            return Err(ScanError::Options(format!(
                "the answer allowance {:?} is outside 1 µs – 1 s",
                self.timeout
            )));
        }
        Ok(())
    }
}

/// The baud rates drives of `protocol` usually run at, most likely first.
pub fn default_bauds(protocol: Protocol) -> Vec<u32> {
    match protocol {
        Protocol::Dynamixel2 => vec![57_600, 1_000_000, 115_200, 2_000_000, 3_000_000, 4_000_000],
        Protocol::Dynamixel1 => vec![1_000_000, 57_600, 115_200],
        Protocol::Feetech => vec![1_000_000, 500_000, 115_200],
        Protocol::ModbusRtu => vec![19_200, 9_600, 38_400, 57_600, 115_200],
    }
}

/// A drive that answered.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundDrive {
    /// The protocol it answered in (`dynamixel2`, …).
    pub protocol: String,
    /// The baud rate it answered at.
    pub baud: u32,
    /// Its ID (unit address for Modbus).
    pub id: u8,
    /// The model number it reports, if the protocol lets it say.
    pub model_number: Option<u16>,
    /// The known profile it matches.
    pub model: Option<String>,
    /// Its firmware version, where readable.
    pub firmware: Option<String>,
    /// Round trip of its answer to a ping (or read), µs: request written → answer decoded.
    pub rtt_us: u64,
    /// Two or more drives answer this ID.
    pub id_conflict: bool,
    /// Anything else worth saying (how the model was matched, why it was not).
    pub note: Option<String>,
}

/// What a scan found.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanReport {
    /// The port scanned.
    pub port: String,
    /// Every drive found, by protocol, baud and ID.
    pub drives: Vec<FoundDrive>,
    /// The (protocol, baud) pairs tried, in order.
    pub tried: Vec<(String, u32)>,
    /// What answered but is not counted as a drive (a Modbus unit that only ever
    /// answers with a failure exception), in words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// How long the scan took, ms.
    pub elapsed_ms: u64,
}

impl ScanReport {
    /// "dynamixel2 at 57600, 1000000 baud; feetech at 1000000 baud".
    pub fn tried_text(&self) -> String {
        let mut groups: Vec<(String, Vec<u32>)> = Vec::new();
        for (protocol, baud) in &self.tried {
            match groups.iter_mut().find(|(p, _)| p == protocol) {
                Some((_, bauds)) => bauds.push(*baud),
                None => groups.push((protocol.clone(), vec![*baud])),
            }
        }
        groups
            .iter()
            .map(|(p, bauds)| {
                let bauds: Vec<String> = bauds.iter().map(u32::to_string).collect();
                format!("{p} at {} baud", bauds.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Why a scan could not run. Finding nothing is not an error: the report is empty.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScanError {
    /// The port could not be opened (it does not exist, permission, in use).
    #[error(transparent)]
    Open(#[from] LinkError),
    /// The port failed during the scan.
    #[error("{port} failed during the scan: {reason}")]
    Io {
        /// The port.
        port: String,
        /// What happened.
        reason: String,
    },
    /// The options make no sense.
    #[error("bad scan options: {0}")]
    Options(String),
}

/// Scans `port`: at each baud rate, each protocol. See the module docs.
pub async fn scan_serial(port: &str, options: &ScanOptions) -> Result<ScanReport, ScanError> {
    options.validate()?;
    let started = Instant::now();
    let mut plan: Vec<(u32, Vec<Protocol>)> = Vec::new();
    for protocol in &options.protocols {
        let bauds = if options.bauds.is_empty() {
            default_bauds(*protocol)
        } else {
            options.bauds.clone()
        };
        for baud in bauds {
            match plan.iter_mut().find(|(b, _)| *b == baud) {
                Some((_, protocols)) => protocols.push(*protocol),
                None => plan.push((baud, vec![*protocol])),
            }
        }
    }
    let mut report = ScanReport {
        port: port.to_string(),
        drives: Vec::new(),
        tried: Vec::new(),
        notes: Vec::new(),
        elapsed_ms: 0,
    };
    for (baud, protocols) in plan {
        // Opened as a link opens it: what the last program's questions brought back and
        // nobody read is discarded, or it would pass for an answer at this rate.
        let mut io = open_serial(port, baud).map_err(ScanError::Open)?;
        for protocol in protocols {
            let found = scan_io(&mut io, protocol, baud, options)
                .await
                .map_err(|reason| ScanError::Io {
                    port: port.to_string(),
                    reason,
                })?;
            report
                .tried
                .push((protocol::protocol_name(protocol).to_string(), baud));
            report.drives.extend(found.drives);
            report.notes.extend(found.notes);
        }
    }
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(report)
}

/// What one protocol at one baud rate found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Found {
    /// The drives, by ID.
    pub drives: Vec<FoundDrive>,
    /// Answers that are not drives ([`ScanReport::notes`]).
    pub notes: Vec<String>,
}

/// Scans one protocol at one baud rate over `io` (a serial port, or any byte stream).
/// `Err` only when the stream fails.
pub async fn scan_io<T>(
    io: &mut T,
    protocol: Protocol,
    baud: u32,
    options: &ScanOptions,
) -> Result<Found, String>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let proto = protocol::for_protocol(protocol);
    let profiles: Vec<&Profile> = options
        .profiles
        .iter()
        .filter(|p| p.protocol == protocol)
        .collect();
    let mut probe = Probe {
        io,
        rx: BytesMut::with_capacity(1024),
        proto: proto.as_ref(),
        baud,
        allowance: options.timeout,
        line_free_at: Instant::now(),
        late: Vec::new(),
        notes: Vec::new(),
    };
    let mut found = match protocol {
        Protocol::Dynamixel2 => probe.dynamixel2().await?,
        Protocol::Dynamixel1 | Protocol::Feetech => probe.ping_each().await?,
        Protocol::ModbusRtu => probe.modbus(&profiles).await?,
    };
    for drive in &mut found {
        drive.baud = baud;
        if protocol != Protocol::ModbusRtu {
            probe.describe(drive, &profiles).await?;
        }
    }
    found.sort_by_key(|d| d.id);
    Ok(Found {
        drives: found,
        notes: probe.notes,
    })
}

/// The least allowance for questions to drives known to be there (reads of a found
/// drive, IDs that answered late): a busy host may take this long to serve the port.
const LATE_ALLOWANCE: Duration = Duration::from_millis(50);

/// What one question brought back.
#[derive(Default)]
struct Heard {
    /// Valid answers, with their round trips.
    replies: Vec<(Reply, Duration)>,
    /// Corrupt frames (bad checksum, collisions) dropped.
    corrupt: usize,
    /// Bytes received at all.
    bytes: usize,
}

impl Heard {
    fn answers_of(&self, id: u8) -> Vec<&(Reply, Duration)> {
        self.replies.iter().filter(|(r, _)| r.id == id).collect()
    }
}

struct Probe<'a, T> {
    io: &'a mut T,
    rx: BytesMut,
    proto: &'a dyn LinkProtocol,
    baud: u32,
    allowance: Duration,
    line_free_at: Instant,
    /// IDs whose answer came in late, while another ID was being asked.
    late: Vec<u8>,
    /// Answers that are not drives.
    notes: Vec<String>,
}

/// A drive's answer to one ID, judged.
#[derive(Clone)]
enum Answer {
    /// Nothing at all.
    Silent,
    /// One valid answer.
    One(Reply, Duration),
    /// More than one valid answer, or garbled bytes where one answer was due.
    Conflict(Option<(Reply, Duration)>),
}

/// Whether an answer shows a drive at the address asked.
enum Presence {
    /// Data, or a refusal a real drive gives for a wrong register or value (Modbus
    /// exceptions 01/02/03), or any answer in a protocol without exceptions.
    Drive,
    /// A gateway saying nobody is there (Modbus 0A path unavailable, 0B target silent).
    Absent,
    /// Only a failure (Modbus 04 and the rarer codes): someone answered, but a drive
    /// cannot be told from a gateway that fails every address. The exception code.
    Unsure(u8),
}

fn presence(answer: &Answer) -> Presence {
    let Answer::One(reply, _) = answer else {
        return Presence::Drive;
    };
    match reply.exception {
        None | Some(0x01..=0x03) => Presence::Drive,
        Some(0x0A | 0x0B) => Presence::Absent,
        Some(code) => Presence::Unsure(code),
    }
}

/// "units 1–2, 4–247" (runs of consecutive IDs joined).
fn unit_list(units: &[u8]) -> String {
    let mut runs: Vec<(u8, u8)> = Vec::new();
    for &unit in units {
        match runs.last_mut() {
            Some((_, last)) if last.checked_add(1) == Some(unit) => *last = unit,
            _ => runs.push((unit, unit)),
        }
    }
    let text: Vec<String> = runs
        .iter()
        .map(|(first, last)| {
            if first == last {
                first.to_string()
            } else {
                format!("{first}–{last}")
            }
        })
        .collect();
    let noun = if units.len() == 1 { "unit" } else { "units" };
    format!("{noun} {}", text.join(", "))
}

impl<T: AsyncRead + AsyncWrite + Unpin> Probe<'_, T> {
    fn wire(&self, bytes: usize) -> Duration {
        protocol::wire_time(self.baud, self.proto.bits_per_byte(), bytes)
    }

    /// Writes `request` and listens for `window`; with `enough` answers it stops early,
    /// after `linger` more to catch a second drive answering the same question.
    async fn ask(
        &mut self,
        request: &Request,
        window: Duration,
        enough: Option<usize>,
        linger: Duration,
    ) -> Result<Heard, String> {
        let silence = self.proto.silence_before_request(self.baud);
        if !silence.is_zero() {
            tokio::time::sleep_until(self.line_free_at + silence).await;
        }
        self.rx.clear();
        self.io
            .write_all(&request.bytes)
            .await
            .map_err(|e| e.to_string())?;
        let written = Instant::now();
        let mut deadline = written + window;
        let mut heard = Heard::default();
        let mut lingering = false;
        loop {
            loop {
                match self.proto.decode(&mut self.rx, request) {
                    Ok(Some(reply)) => heard.replies.push((reply, written.elapsed())),
                    Ok(None) => break,
                    Err(_) => heard.corrupt += 1,
                }
            }
            if !lingering && enough.is_some_and(|n| heard.replies.len() >= n) {
                lingering = true;
                deadline = deadline.min(Instant::now() + linger);
            }
            let mut chunk = [0u8; 512];
            match tokio::time::timeout_at(deadline, self.io.read(&mut chunk)).await {
                Err(_) => break,
                Ok(Ok(0)) => return Err("the port closed".into()),
                Ok(Ok(n)) => {
                    heard.bytes += n;
                    self.rx.extend_from_slice(&chunk[..n]);
                }
                Ok(Err(e)) => return Err(e.to_string()),
            }
        }
        log::debug!(
            "scan: {:02x?} → {} replies {:?}, {} corrupt, {} bytes, window {window:?}, took {:?}",
            &request.bytes,
            heard.replies.len(),
            heard
                .replies
                .iter()
                .map(|(r, t)| (r.id, *t))
                .collect::<Vec<_>>(),
            heard.corrupt,
            heard.bytes,
            written.elapsed()
        );
        // An answer from a drive not asked (one asked before, answering late on a busy
        // host) is remembered to be asked again, with more patience.
        if let [asked] = request.expect.as_slice() {
            for (reply, _) in &heard.replies {
                if reply.id != *asked && !self.late.contains(&reply.id) {
                    self.late.push(reply.id);
                }
            }
        }
        // Whatever is left undecoded when the window closes was garbled.
        if !self.rx.is_empty() {
            heard.corrupt += 1;
        }
        self.line_free_at = Instant::now();
        Ok(heard)
    }

    /// The window for `request`'s answer from one drive: the wire time of both, the
    /// longest return delay, the allowance.
    fn window(&self, request: &Request, reply_bytes: usize) -> Duration {
        self.wire(request.bytes.len() + reply_bytes) + Duration::from_micros(508) + self.allowance
    }

    /// The time to keep listening after an answer for a second one.
    fn linger(&self, reply_bytes: usize) -> Duration {
        self.wire(reply_bytes) + Duration::from_micros(508) + Duration::from_millis(1)
    }

    /// Asks one drive `request`, twice if the first answer was garbled, and judges.
    async fn ask_one(&mut self, request: &Request, id: u8) -> Result<Answer, String> {
        let reply_bytes = request.reply_bytes.max(8);
        let window = self.window(request, reply_bytes);
        let linger = self.linger(reply_bytes);
        let mut garbled = 0;
        for _ in 0..2 {
            let heard = self.ask(request, window, Some(1), linger).await?;
            let mine = heard.answers_of(id);
            match (mine.len(), heard.corrupt) {
                (0, 0) if heard.bytes == 0 => return Ok(Answer::Silent),
                (1, 0) => {
                    let (reply, rtt) = mine[0].clone();
                    return Ok(Answer::One(reply, rtt));
                }
                (0, _) => garbled += 1,
                (n, _) => {
                    let first = mine[0].clone();
                    if n > 1 {
                        return Ok(Answer::Conflict(Some(first)));
                    }
                    // One good answer and garbage: perhaps noise, ask again.
                    garbled += 1;
                    if garbled == 2 {
                        return Ok(Answer::Conflict(Some(first)));
                    }
                }
            }
        }
        Ok(if garbled == 2 {
            Answer::Conflict(None)
        } else {
            Answer::Silent
        })
    }

    fn found(&self, id: u8, answer: Answer) -> Option<FoundDrive> {
        let (reply, rtt, conflict) = match answer {
            Answer::Silent => return None,
            Answer::One(reply, rtt) => (Some(reply), rtt, false),
            Answer::Conflict(first) => match first {
                Some((reply, rtt)) => (Some(reply), rtt, true),
                None => (None, Duration::ZERO, true),
            },
        };
        let identity = reply
            .as_ref()
            .map(|r| self.proto.identify(r))
            .unwrap_or_default();
        Some(FoundDrive {
            protocol: self.proto.name().to_string(),
            baud: self.baud,
            id,
            model_number: identity.model_number,
            model: None,
            firmware: identity.firmware.map(|f| f.to_string()),
            rtt_us: rtt.as_micros() as u64,
            id_conflict: conflict,
            note: conflict.then(|| {
                "ID conflict: more than one drive answers this ID (their answers collide); give each its own ID, one drive on the bus at a time".to_string()
            }),
        })
    }

    /// DYNAMIXEL 2.0: broadcast ping, then each drive alone.
    async fn dynamixel2(&mut self) -> Result<Vec<FoundDrive>, String> {
        let Some(broadcast) = self
            .proto
            .broadcast_id()
            .and_then(|all| self.proto.ping(all))
        else {
            return self.ping_each().await;
        };
        // The ROBOTIS SDK's window for 253 answers of 14 bytes, 3 ms each.
        let max = usize::from(self.proto.max_id()) + 1;
        let window = self.wire(broadcast.bytes.len() + 14 * max)
            + Duration::from_millis(3) * max as u32
            + self.allowance;
        let heard = self.ask(&broadcast, window, None, Duration::ZERO).await?;
        // Bytes beyond the valid answers' were garbled: answers collided.
        let answer_len = self.proto.ping(1).map_or(0, |p| p.reply_bytes);
        if heard.corrupt > 0 || heard.bytes > heard.replies.len() * answer_len {
            // Some answers collided: only asking each ID alone tells which.
            return self.ping_each().await;
        }
        let mut ids: Vec<u8> = heard.replies.iter().map(|(r, _)| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut found = Vec::new();
        for id in ids {
            let twice = heard.answers_of(id).len() > 1;
            let Some(ping) = self.proto.ping(id) else {
                continue;
            };
            let answer = match self.ask_one(&ping, id).await? {
                Answer::One(reply, rtt) if twice => Answer::Conflict(Some((reply, rtt))),
                // It answered the broadcast but not alone: a busy host late with its
                // answer, or an answer to another program's question left on the line.
                // Asked once more with the late allowance, it is a drive only if it
                // answers then.
                Answer::Silent => match self.ask_late(&ping, id).await? {
                    Answer::Silent => {
                        self.notes.push(format!(
                            "ID {id} answered the broadcast ping only, never when asked alone: not listed"
                        ));
                        Answer::Silent
                    }
                    answer => answer,
                },
                answer => answer,
            };
            found.extend(self.found(id, answer));
        }
        Ok(found)
    }

    /// [`Probe::ask_one`] with [`LATE_ALLOWANCE`] at least.
    async fn ask_late(&mut self, request: &Request, id: u8) -> Result<Answer, String> {
        let allowance = self.allowance;
        self.allowance = allowance.max(LATE_ALLOWANCE);
        let answer = self.ask_one(request, id).await;
        self.allowance = allowance;
        answer
    }

    /// Pings every ID alone; IDs that answered late are asked again with a longer
    /// allowance.
    async fn ping_each(&mut self) -> Result<Vec<FoundDrive>, String> {
        let mut found: Vec<FoundDrive> = Vec::new();
        for id in 0..=self.proto.max_id() {
            let Some(ping) = self.proto.ping(id) else {
                continue;
            };
            let answer = self.ask_one(&ping, id).await?;
            found.extend(self.found(id, answer));
        }
        self.ask_late_again(&mut found, |proto, id| proto.ping(id))
            .await?;
        Ok(found)
    }

    /// Asks the IDs that answered late (and are not found yet) once more, with
    /// [`LATE_ALLOWANCE`] at least.
    async fn ask_late_again(
        &mut self,
        found: &mut Vec<FoundDrive>,
        question: impl Fn(&dyn LinkProtocol, u8) -> Option<Request>,
    ) -> Result<(), String> {
        let allowance = self.allowance;
        self.allowance = allowance.max(LATE_ALLOWANCE);
        for id in std::mem::take(&mut self.late) {
            if found.iter().any(|d| d.id == id) {
                continue;
            }
            let Some(request) = question(self.proto, id) else {
                continue;
            };
            let answer = self.ask_one(&request, id).await?;
            if matches!(presence(&answer), Presence::Drive) {
                found.extend(self.found(id, answer));
            }
        }
        self.allowance = allowance;
        Ok(())
    }

    /// Reads `register` of a drive found, `id`, with [`LATE_ALLOWANCE`] at least and
    /// once more if it stays silent; `None` if it did not answer or refused.
    async fn read(
        &mut self,
        id: u8,
        profile: &Profile,
        register: &drivedeck_proto::profile::Register,
    ) -> Result<Option<i64>, String> {
        let block = Block::of(register);
        let Ok(request) = self.proto.read(id, &block) else {
            return Ok(None);
        };
        let window = self.wire(request.bytes.len() + request.reply_bytes)
            + self.allowance.max(LATE_ALLOWANCE);
        for _ in 0..2 {
            let heard = self.ask(&request, window, Some(1), Duration::ZERO).await?;
            if let Some((reply, _)) = heard.answers_of(id).first() {
                return Ok(reply
                    .refused
                    .is_none()
                    .then(|| block.raw(register, &reply.data))
                    .flatten()
                    .map(|raw| protocol::from_wire(self.proto, profile, register, raw)));
            }
        }
        Ok(None)
    }

    /// Fills in model and firmware: from the ping's answer, else from the control table
    /// at the addresses the known profiles give; then the profile that matches.
    async fn describe(
        &mut self,
        drive: &mut FoundDrive,
        profiles: &[&Profile],
    ) -> Result<(), String> {
        if drive.id_conflict {
            return Ok(());
        }
        if drive.model_number.is_none() {
            let mut tried = Vec::new();
            for profile in profiles {
                let Some(register) = profile.register("Model Number") else {
                    continue;
                };
                if tried.contains(&register.address) {
                    continue;
                }
                tried.push(register.address);
                if let Some(model) = self.read(drive.id, profile, register).await? {
                    drive.model_number = Some(model as u16);
                    break;
                }
            }
        }
        let matched = drive
            .model_number
            .and_then(|model| profiles.iter().find(|p| p.model_number == model));
        match matched {
            Some(profile) => {
                drive.model = Some(profile.name.clone());
                if drive.firmware.is_none() {
                    drive.firmware = self.firmware(drive.id, profile).await?;
                }
            }
            None => {
                drive.note = Some(match drive.model_number {
                    Some(model) => format!("model number {model} matches no known profile"),
                    None => "its model number could not be read".into(),
                })
            }
        }
        Ok(())
    }

    /// The firmware version entries of `profile` ("Firmware Version", or Feetech's
    /// major and minor), as text.
    async fn firmware(&mut self, id: u8, profile: &Profile) -> Result<Option<String>, String> {
        if let Some(register) = profile.register("Firmware Version") {
            return Ok(self
                .read(id, profile, register)
                .await?
                .map(|v| v.to_string()));
        }
        if let (Some(major), Some(minor)) = (
            profile.register("Firmware Major Version"),
            profile.register("Firmware Minor Version"),
        ) {
            let major = self.read(id, profile, major).await?;
            let minor = self.read(id, profile, minor).await?;
            if let (Some(major), Some(minor)) = (major, minor) {
                return Ok(Some(format!("{major}.{minor}")));
            }
        }
        Ok(None)
    }

    /// Modbus: each unit is asked for a register the known profiles name.
    async fn modbus(&mut self, profiles: &[&Profile]) -> Result<Vec<FoundDrive>, String> {
        // Per profile: its identity register if it has one, else its statusword (or
        // enable register); one question per distinct register.
        let mut questions: Vec<(&Profile, &drivedeck_proto::profile::Register, bool)> = Vec::new();
        for profile in profiles {
            let (register, identity) = match profile.register("Model Number") {
                Some(register) => (Some(register), true),
                None => (
                    profile
                        .role(Role::StatusWord)
                        .or_else(|| profile.role(Role::TorqueEnable)),
                    false,
                ),
            };
            if let Some(register) = register
                && !questions
                    .iter()
                    .any(|(_, r, _)| r.address == register.address && r.space == register.space)
            {
                questions.push((profile, register, identity));
            }
        }
        if questions.is_empty() {
            // No profile to go by: holding register 0 is as good a question as any.
            return Err("no Modbus profile to scan with".into());
        }
        let mut found = Vec::new();
        // Units that answered only with failure codes (04 …), by code; units counted as
        // drives on exceptions alone (01/02/03, never data); whether any unit was silent.
        let mut failing: Vec<(u8, u8)> = Vec::new();
        let mut exceptions_only: Vec<u8> = Vec::new();
        let mut any_silent = false;
        for unit in 1..=self.proto.max_id() {
            let mut drive: Option<FoundDrive> = None;
            let mut failure: Option<u8> = None;
            let mut heard = false;
            let mut data = false;
            for (profile, register, identity) in &questions {
                let block = Block::of(register);
                let request = self.proto.read(unit, &block)?;
                let answer = self.ask_one(&request, unit).await?;
                let Some(mut here) = self.found(unit, answer.clone()) else {
                    break; // silent: nobody at this address
                };
                heard = true;
                match presence(&answer) {
                    Presence::Absent => break,
                    Presence::Unsure(code) => {
                        failure.get_or_insert(code);
                        continue;
                    }
                    Presence::Drive => {}
                }
                if let Answer::One(reply, _) | Answer::Conflict(Some((reply, _))) = &answer
                    && reply.refused.is_none()
                {
                    data = true;
                    let raw = block.raw(register, &reply.data);
                    if *identity {
                        here.model_number = raw.map(|m| m as u16);
                        let matched = profiles
                            .iter()
                            .find(|p| Some(p.model_number) == here.model_number);
                        here.model = matched.map(|p| p.name.clone());
                    } else {
                        here.model = Some(profile.name.clone());
                        here.note.get_or_insert_with(|| {
                            format!(
                                "matched by its register map: {} answered; Modbus has no identity register in this profile",
                                register.name
                            )
                        });
                    }
                    drive = Some(here);
                    break;
                }
                if let Answer::One(reply, _) = &answer {
                    here.note = reply.refused.clone();
                }
                drive = Some(here);
            }
            any_silent |= !heard;
            match (drive, failure) {
                (Some(drive), _) => {
                    if !data && !drive.id_conflict {
                        exceptions_only.push(unit);
                    }
                    found.push(drive);
                }
                (None, Some(code)) => failing.push((unit, code)),
                (None, None) => {}
            }
        }
        let mut codes: Vec<u8> = failing.iter().map(|(_, code)| *code).collect();
        codes.sort_unstable();
        codes.dedup();
        for code in codes {
            let units: Vec<u8> = failing
                .iter()
                .filter(|(_, c)| *c == code)
                .map(|(unit, _)| *unit)
                .collect();
            self.notes.push(format!(
                "{} answered only {} to every read: not counted as drives (a gateway or a \
                 server in front of the bus may answer so for addresses it cannot serve)",
                unit_list(&units),
                ExceptionCode::from_code(code)
            ));
        }
        if !any_silent && !exceptions_only.is_empty() {
            // Every address answered: no bus carries 247 drives; one server (a gateway, a
            // stack) answers for every address, and only units that gave data are drives.
            found.retain(|d| !exceptions_only.contains(&d.id));
            self.notes.push(format!(
                "{} answered only with exceptions, and no address was silent: one server \
                 answers for every address; those units are not counted as drives",
                unit_list(&exceptions_only)
            ));
        }
        // A unit that answered late is asked its first question again, patiently.
        let (_, register, _) = questions[0];
        let block = Block::of(register);
        self.ask_late_again(&mut found, |proto, unit| proto.read(unit, &block).ok())
            .await?;
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use drivedeck_proto::dxl1;
    use tokio::io::AsyncReadExt;

    /// A Feetech bus behind an in-memory pipe where drive 1 is alone and two drives
    /// share ID 3: their answers to a ping of ID 3 go out byte-interleaved.
    async fn feetech_bus_with_a_shared_id(mut device: tokio::io::DuplexStream) {
        let mut buf = BytesMut::new();
        let mut chunk = [0u8; 256];
        while let Ok(n) = device.read(&mut chunk).await {
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            while let Ok(Some(packet)) = dxl1::decode(&mut buf) {
                let answer = match (packet.id, packet.instruction) {
                    (1 | 3, dxl1::instruction::PING) => dxl1::Packet::status(packet.id, 0, &[]),
                    (1 | 3, dxl1::instruction::READ) if packet.params == [3, 2] => {
                        dxl1::Packet::status(packet.id, 0, &777u16.to_le_bytes())
                    }
                    (1 | 3, dxl1::instruction::READ) => dxl1::Packet::status(packet.id, 0, &[0]),
                    _ => continue,
                };
                let bytes = answer.encode();
                let out = if packet.id == 3 {
                    // Two servos answering together: each byte garbled with the other's.
                    let other = dxl1::Packet::status(3, 0x20, &[]).encode();
                    bytes
                        .iter()
                        .zip(other.iter().cycle().skip(1))
                        .map(|(a, b)| a & b)
                        .collect()
                } else {
                    bytes
                };
                if device.write_all(&out).await.is_err() {
                    return;
                }
            }
        }
    }

    #[tokio::test]
    async fn a_shared_id_is_flagged_and_a_lone_drive_is_matched() {
        let (mut host, device) = tokio::io::duplex(4096);
        tokio::spawn(feetech_bus_with_a_shared_id(device));
        let mut options = ScanOptions::new(vec![Profile::sts3215()]);
        options.timeout = Duration::from_millis(2);
        let found = scan_io(&mut host, Protocol::Feetech, 1_000_000, &options)
            .await
            .expect("scan")
            .drives;
        let ids: Vec<(u8, bool)> = found.iter().map(|d| (d.id, d.id_conflict)).collect();
        assert_eq!(ids, vec![(1, false), (3, true)], "{found:?}");
        assert_eq!(found[0].model.as_deref(), Some("STS3215"));
        assert_eq!(found[0].model_number, Some(777));
        assert!(
            found[1]
                .note
                .as_deref()
                .is_some_and(|n| n.contains("ID conflict"))
        );
    }

    #[test]
    fn bad_options_are_refused() {
        let mut options = ScanOptions::new(Profile::builtin());
        assert!(options.validate().is_ok());
        options.bauds = vec![0];
        assert!(options.validate().is_err());
        options.bauds = vec![];
        options.protocols.clear();
        assert!(options.validate().is_err());
    }

    #[tokio::test]
    async fn a_missing_port_says_so() {
        let options = ScanOptions {
            protocols: vec![Protocol::Dynamixel2],
            bauds: vec![57_600],
            ..ScanOptions::new(Profile::builtin())
        };
        let error = scan_serial("/dev/does-not-exist-drivedeck", &options)
            .await
            .expect_err("no such port");
        let text = error.to_string();
        assert!(text.contains("/dev/does-not-exist-drivedeck"), "{text}");
        assert!(text.contains("No such file"), "{text}");
        assert!(matches!(error, ScanError::Open(LinkError::Open { .. })));
    }
}
