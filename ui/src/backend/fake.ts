// An in-memory Backend: two drives with first-order motion, a job journal, sessions and a
// sample log served by cursor like the real store. Used by the unit tests and by
// `npm run dev` in a plain browser; it checks commands the way the engine does (range,
// mode, state) and keeps sessions the way the engine does (stopping a named recording
// starts an automatic "Live …" one). Tuning runs live in fakeTune.ts, the bus set-up
// (a drive's new ID or rate, reboot, reset; the guided one-servo-at-a-time set-up on
// fake ports) in fakeSetup.ts.
import type { Backend } from './index';
import { encodeTail, decodeTail } from './tail';
import type { FoundDrive, PortInfo, ProfileView, ScanReport } from './types';
import type {
  AppStatus, ChannelName, ChannelView, ChartSettings, Command, DriveRef, DriveView, ExportFormat, FaultView, JobQuery, JobView, LookSettings,
  ParamDiffView, ParamExport, ParamRegisterView, ParamTable, Recent, RecentConnection, SessionSummary, Settings, SnapshotView, TailBatch,
  TailCursor,
} from './types';
import { JOB_STATES } from './types';
import type { ModelResults, RunQuery, RunSummary, RunView, TestSpec, TuneDefaults, TuneExportFormat } from './types';
import { FakeTuning } from './fakeTune';
import { FakeWhatIf } from './fakeWhatIf';
import type { StopNotice } from './types';
import type { Comparison, PassiveRequest, PassiveView, PredictRequest, Prediction, SuggestRequest, SuggestionView } from './types';
import { FakeSetup } from './fakeSetup';
import type { AssignDone, AssignRequest, ExportUnit, SetupDone, SetupStep } from './types';
import { journalMatches } from '../views/jobs';
import { sameConnection } from '../views/connect';

/** A register of the fake drives' control table (an XM430's, shortened). */
type FakeRegister = Omit<ParamRegisterView, 'raw' | 'value' | 'min' | 'max'> & { rawMin: number; rawMax: number; initial: number };
const REG = (name: string, address: number, size: number, unit: string, scale: number, rawMin: number, rawMax: number,
  access: 'r' | 'rw', persistent: boolean, initial: number): FakeRegister => ({
  name, address, size, type: `u${size * 8}`, unit, scale, rawMin, rawMax, access, persistent, description: null, initial,
});
const FAKE_TABLE: FakeRegister[] = [
  REG('Model Number', 0, 2, '', 1, 0, 65535, 'r', true, 1020),
  REG('Return Delay Time', 9, 1, 's', 2e-6, 0, 254, 'rw', true, 250),
  REG('Temperature Limit', 31, 1, '°C', 1, 0, 100, 'rw', true, 80),
  REG('Velocity Limit', 44, 4, 'rad/s', 0.229 * 2 * Math.PI / 60, 0, 1023, 'rw', true, 200),
  REG('Position D Gain', 80, 2, '', 1, 0, 16383, 'rw', false, 0),
  REG('Position I Gain', 82, 2, '', 1, 0, 16383, 'rw', false, 0),
  REG('Position P Gain', 84, 2, '', 1, 0, 16383, 'rw', false, 800),
  REG('Present Temperature', 146, 1, '°C', 1, 0, 255, 'r', false, 36),
];
type FakeSnapshot = SnapshotView & { values: Map<string, number> };

type Sample = { seq: number; channel: number; t: number; v: number };
type FakeSession = { id: number; name: string; notes: string; startedAtMs: number; stoppedAtMs: number | null; samples: Sample[] };

const CHANNEL_COUNT = 3;

const CHANNELS: ChannelName[] = ['position', 'velocity', 'current'];
const UNITS: Record<ChannelName, string> = { position: 'rad', velocity: 'rad/s', current: 'A' };

/** The fake drives' own limits (rad, rad/s), which soft limits may narrow. */
const FAKE_POSITION: [number, number] = [0, 2 * Math.PI];
const FAKE_VELOCITY = 4.8;

export class FakeBackend implements Backend {
  readonly submitted: Command[] = [];
  private drivesState: DriveView[];
  private jobsLog: JobView[] = [];
  /** Links lost (loseLink), for the stop notices. */
  private linksLost: { link: number; reason: string; atMs: number }[] = [];
  private sessionsLog: FakeSession[] = [];
  /** Faults raised, per session (tests add them with raiseFault). */
  private faultsLog = new Map<number, FaultView[]>();
  private settingsValue: Settings = {
    chart: { windowSeconds: 10, channels: [{ drive: { link: 1, id: 1 }, name: 'position' }, { drive: { link: 1, id: 1 }, name: 'velocity' }] },
    look: { theme: 'system', sidebarPx: 300, journalPx: 160 },
  };
  private nextJob = 1;
  /** Raw register values per drive ID. */
  private registers = new Map<number, Map<string, number>>();
  private snapshotsLog: FakeSnapshot[] = [];
  private armed = new Set<number>();
  private lastStep: number;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: { autoStep?: boolean; now?: () => number } = {}) {
    this.now = options.now ?? (() => Date.now());
    this.lastStep = this.now();
    this.sessionsLog.push(this.newSession(this.liveName(), ''));
    this.drivesState = [1, 2].map((id) => ({
      drive: { link: 1, id },
      model: 'XM430-W350 (fake)',
      enabled: false,
      mode: 'position',
      fault: null,
      target: null,
      positionLimits: FAKE_POSITION,
      velocityLimit: FAKE_VELOCITY,
      softLimits: { position: null, velocity: null },
      position: 0,
      velocity: 0,
      current: 0,
      sampleAgeMs: 0,
      linkUp: true,
    }));
    this.tuning = new FakeTuning({
      now: () => this.now(),
      drive: (ref) => this.drivesState.find((d) => d.drive.link === ref.link && d.drive.id === ref.id),
      session: () => ({ id: this.current.id, startedAtMs: this.current.startedAtMs }),
    });
    this.whatIf = new FakeWhatIf((id) => this.tuning.run(id));
    this.setup = new FakeSetup({
      drives: () => this.drivesState,
      journal: (command, drive, reason) => {
        const at = this.now();
        return this.addJob({
          session: this.current.id, command, link: drive?.link ?? null, drive: drive ? { ...drive } : null, state: 'done', reason,
          queuedAtMs: at, sentAtMs: at, finishedAtMs: at,
        });
      },
      moved: (from, to) => {
        const raws = this.registers.get(from.id);
        this.registers.delete(from.id);
        if (raws) this.registers.set(to.id, raws);
        if (this.armed.delete(from.id)) this.armed.add(to.id);
      },
      reset: (drive) => this.registers.delete(drive.id),
      heldPorts: () => this.connections
        .map((c, i) => ({ port: c.port.trim(), link: i + 2 }))
        .filter((c) => c.port !== 'sim' && !this.disconnected.has(c.link)),
    });
    if (options.autoStep ?? false) this.timer = setInterval(() => this.step(), 10);
  }

  private readonly now: () => number;
  /** Tuning runs (fakeTune.ts); tests reach it for what was started and exported. */
  readonly tuning: FakeTuning;
  /** Suggestions, what-ifs and comparisons (fakeWhatIf.ts); tests reach the predictions asked. */
  readonly whatIf: FakeWhatIf;
  /** Bus set-up (fakeSetup.ts); tests reach its fake ports and the assignments asked. */
  readonly setup: FakeSetup;

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private newSession(name: string, notes: string): FakeSession {
    return { id: this.sessionsLog.length + 1, name, notes, startedAtMs: this.now(), stoppedAtMs: null, samples: [] };
  }

  private liveName(): string {
    return `Live ${new Date(this.now()).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  }

  private get current(): FakeSession {
    return this.sessionsLog[this.sessionsLog.length - 1];
  }

  private find(id: number): FakeSession {
    const s = this.sessionsLog.find((x) => x.id === id);
    if (!s) throw { kind: 'notFound', message: `session ${id} not found` };
    return s;
  }

  /** Channel IDs are per session, like the store's. */
  private channelId(session: number, drive: DriveRef, name: ChannelName): number {
    // By the drive's place in the list, not its ID: a drive given a new ID keeps its place.
    const index = Math.max(0, this.drivesState.findIndex((d) => d.drive.link === drive.link && d.drive.id === drive.id));
    return ((session - 1) * this.drivesState.length + index) * CHANNEL_COUNT + CHANNELS.indexOf(name) + 1;
  }

  private channelOwner(channel: number): number {
    return Math.floor((channel - 1) / (this.drivesState.length * CHANNEL_COUNT)) + 1;
  }

  /** Records samples directly (tests): `values(t)` per drive and channel. */
  record(times: number[], values: (t: number, drive: DriveRef, name: ChannelName) => number): void {
    const s = this.current;
    for (const t of times) {
      for (const d of this.drivesState) {
        for (const name of CHANNELS) {
          s.samples.push({ seq: s.samples.length + 1, channel: this.channelId(s.id, d.drive, name), t, v: values(t, d.drive, name) });
        }
      }
    }
  }

  /** Drive `id` reports `text` as its fault now (Clear Fault clears it). */
  setDriveFault(id: number, text: string | null): void {
    const d = this.drivesState.find((x) => x.drive.id === id);
    if (d) d.fault = text;
  }

  /** A fault, as if a drive had raised it `raisedS` into the current session. */
  raiseFault(drive: DriveRef, text: string, raisedS: number): void {
    const list = this.faultsLog.get(this.current.id) ?? [];
    list.push({ drive, text, raisedS, clearedS: null });
    this.faultsLog.set(this.current.id, list);
  }

  /** Advances the motion to now and logs one sample per channel per drive. */
  step(): void {
    const now = this.now();
    const dt = Math.max(0, (now - this.lastStep) / 1000);
    this.lastStep = now;
    const session = this.current;
    const t = (now - session.startedAtMs) / 1000;
    for (const d of this.drivesState) {
      let velocity = 0;
      if (d.enabled && d.target) {
        velocity = 'position' in d.target
          ? Math.max(-d.velocityLimit, Math.min(d.velocityLimit, 8 * (d.target.position - (d.position ?? 0))))
          : d.target.velocity;
      }
      d.velocity = velocity;
      d.position = (d.position ?? 0) + velocity * dt;
      d.current = Math.abs(velocity) * 0.05;
      for (const name of CHANNELS) {
        const v = name === 'position' ? d.position : name === 'velocity' ? d.velocity : d.current;
        session.samples.push({ seq: session.samples.length + 1, channel: this.channelId(session.id, d.drive, name), t, v });
      }
    }
  }

  async appStatus(): Promise<AppStatus> {
    return {
      session: { id: this.current.id, name: this.current.name, startedAtMs: this.current.startedAtMs },
      links: [{
        id: 1, port: 'fake', protocol: 'dynamixel2', baud: this.setup.linkBaud(1), up: true, simulated: true,
        health: {
          rttP50Ms: 1, rttP99Ms: 2, exchanges: this.current.samples.length, timeouts: 0, corrupt: 0, retries: 0,
          pollHz: 100, pollTargetHz: 100, adapterWarning: null,
        },
      }],
      committedCursor: this.sessionsLog.reduce((n, x) => n + x.samples.length, 0),
      storeFailure: this.storeFailure,
    };
  }

  async drives(): Promise<DriveView[]> {
    return this.drivesState.map((d) => ({ ...d, drive: { ...d.drive } }));
  }

  async submit(command: Command): Promise<number> {
    this.submitted.push(command);
    if (command.kind === 'connect' || command.kind === 'disconnect' || command.kind === 'scan') {
      throw { kind: 'invalid', message: `${command.kind} is not queued on a link: the engine's ${command.kind} call runs it` };
    }
    if (command.kind !== 'eStop' && command.kind !== 'safeStop') {
      const d = this.drivesState.find((x) => x.drive.link === command.drive.link && x.drive.id === command.drive.id);
      if (!d) throw { kind: 'notFound', message: `drive ${command.drive.id} is not connected` };
      if (command.kind === 'enable' && !this.armed.has(d.drive.id)) {
        throw { kind: 'invalid', message: `drive ${d.drive.id} is not armed: arm it first` };
      }
      if (command.kind === 'setMode' && d.enabled) {
        throw { kind: 'invalid', message: `disable drive ${d.drive.id} before changing its mode` };
      }
      if (command.kind === 'jog' && (!d.enabled || d.mode !== 'velocity')) {
        throw { kind: 'invalid', message: 'jog needs an enabled drive in velocity mode' };
      }
      if (command.kind === 'setSoftLimits') {
        // Like the bus: soft limits only narrow the drive's own.
        const { position, velocity } = command.limits;
        if (position && !(position[0] < position[1] && position[0] >= FAKE_POSITION[0] && position[1] <= FAKE_POSITION[1])) {
          throw { kind: 'invalid', message: 'soft position limits reach outside the drive\'s range: a soft limit can only narrow it' };
        }
        if (velocity !== null && !(velocity > 0 && velocity <= FAKE_VELOCITY)) {
          throw { kind: 'invalid', message: 'soft velocity limit is above the drive\'s limit: a soft limit can only narrow it' };
        }
      }
      if (command.kind === 'setTarget') {
        if ('position' in command.target) {
          const p = command.target.position;
          if (d.mode !== 'position') throw { kind: 'invalid', message: 'drive is in velocity mode' };
          if (!(p >= d.positionLimits[0] && p <= d.positionLimits[1])) throw { kind: 'invalid', message: 'position out of range' };
        } else {
          const v = command.target.velocity;
          if (d.mode !== 'velocity') throw { kind: 'invalid', message: 'drive is in position mode' };
          if (!(Math.abs(v) <= d.velocityLimit)) throw { kind: 'invalid', message: 'velocity out of range' };
        }
      }
    }
    if (command.kind === 'restoreParams') {
      // Like the bus: a backup's read-only registers are skipped, the rest checked.
      const writable = command.values.filter(([n]) => FAKE_TABLE.find((r) => r.name === n)?.access !== 'r');
      if (writable.length === 0) throw { kind: 'invalid', message: 'the backup holds no writable values' };
      this.checkParams(writable);
    }
    if (command.kind === 'writeParams') this.checkParams(command.values);
    if (command.kind === 'readParams') {
      for (const name of command.registers) {
        if (!FAKE_TABLE.some((r) => r.name === name)) throw { kind: 'invalid', message: `no register ${name}` };
      }
    }
    const id = this.nextJob++;
    const at = this.now();
    this.apply(command);
    this.applyParams(command, id);
    this.jobsLog.push({
      id,
      session: this.current.id,
      command: command.kind,
      link: 'drive' in command ? command.drive.link : null,
      drive: 'drive' in command ? command.drive : null,
      priority: command.kind === 'eStop' || command.kind === 'safeStop' ? 'eStop' : 'user',
      state: 'done',
      // As the backend's journal does: a stop's reason in the reason column.
      reason: command.kind === 'safeStop' ? command.reason : null,
      queuedAtMs: at,
      deadlineAtMs: null,
      sentAtMs: at,
      finishedAtMs: at,
    });
    return id;
  }

  private apply(command: Command): void {
    if (command.kind === 'eStop' || command.kind === 'safeStop') {
      for (const d of this.drivesState) {
        d.enabled = false;
        d.target = null;
      }
      return;
    }
    if (!('drive' in command)) return;
    const d = this.drivesState.find((x) => x.drive.id === command.drive.id)!;
    switch (command.kind) {
      case 'arm': this.armed.add(d.drive.id); break;
      case 'enable': d.enabled = true; this.armed.delete(d.drive.id); break;
      case 'disable': d.enabled = false; break;
      case 'setMode': d.mode = command.mode; d.target = null; break;
      case 'setTarget': d.target = command.target; break;
      case 'jog': d.target = { velocity: command.velocity }; break;
      case 'clearFault': d.fault = null; break;
      case 'setSoftLimits': {
        const { position, velocity } = command.limits;
        d.softLimits = { position, velocity };
        d.positionLimits = position ?? FAKE_POSITION;
        d.velocityLimit = velocity ?? FAKE_VELOCITY;
        break;
      }
    }
  }

  private raws(drive: number): Map<string, number> {
    let raws = this.registers.get(drive);
    if (!raws) {
      raws = new Map(FAKE_TABLE.map((r) => [r.name, r.initial]));
      this.registers.set(drive, raws);
    }
    return raws;
  }

  /** Checked the way the bus checks a write: known, writable, a number, within limits. */
  private checkParams(values: [string, number][]): void {
    for (const [name, value] of values) {
      const r = FAKE_TABLE.find((x) => x.name === name);
      if (!r) throw { kind: 'invalid', message: `no register ${name}` };
      if (r.access !== 'rw') throw { kind: 'invalid', message: `${name} is read only` };
      const raw = Math.round(value / r.scale);
      if (!Number.isFinite(raw) || raw < r.rawMin || raw > r.rawMax) {
        throw { kind: 'invalid', message: `${name}: value ${raw} is outside the allowed range ${r.rawMin}..=${r.rawMax}` };
      }
    }
  }

  private snapshot(drive: DriveRef, kind: string, job: number, label: string, names: string[]): void {
    const raws = this.raws(drive.id);
    this.snapshotsLog.push({
      id: this.snapshotsLog.length + 1, session: this.current.id, drive: { ...drive }, model: 'XM430-W350 (fake)', kind, job, label,
      atMs: this.now(), values: new Map(names.map((n) => [n, raws.get(n) ?? 0])),
    });
  }

  private applyParams(command: Command, job: number): void {
    const all = FAKE_TABLE.map((r) => r.name);
    switch (command.kind) {
      case 'readParams':
        this.snapshot(command.drive, 'read', job, '', command.registers.length > 0 ? command.registers : all);
        break;
      case 'writeParams':
      case 'restoreParams': {
        const values = command.values.filter(([n]) => FAKE_TABLE.find((r) => r.name === n)?.access !== 'r');
        const names = values.map(([n]) => n);
        if (command.kind === 'writeParams') this.snapshot(command.drive, 'before-write', job, '', names);
        const raws = this.raws(command.drive.id);
        for (const [name, value] of values) raws.set(name, Math.round(value / FAKE_TABLE.find((r) => r.name === name)!.scale));
        this.snapshot(command.drive, command.kind === 'writeParams' ? 'after-write' : 'restore', job, command.kind === 'restoreParams' ? command.label : '', names);
        break;
      }
      case 'backupParams':
        this.snapshot(command.drive, 'backup', job, command.label, FAKE_TABLE.filter((r) => r.persistent).map((r) => r.name));
        break;
    }
  }

  /** Changes a register behind the app's back, as another tool would (tests). */
  setRegister(drive: number, name: string, raw: number): void {
    this.raws(drive).set(name, raw);
  }

  async params(drive: DriveRef): Promise<ParamTable> {
    if (!this.drivesState.some((d) => d.drive.link === drive.link && d.drive.id === drive.id)) {
      throw { kind: 'notFound', message: `no connected drive ${drive.id} on link ${drive.link}` };
    }
    const known = new Map<string, number>();
    for (const s of this.snapshotsLog) {
      if (s.session === this.current.id && s.drive.link === drive.link && s.drive.id === drive.id) {
        for (const [n, raw] of s.values) known.set(n, raw);
      }
    }
    return {
      drive: { ...drive }, model: 'XM430-W350 (fake)', session: this.current.id,
      registers: FAKE_TABLE.map(({ rawMin, rawMax, initial: _initial, ...r }) => {
        const raw = known.get(r.name);
        return { ...r, min: rawMin * r.scale, max: rawMax * r.scale, raw: raw ?? null, value: raw === undefined ? null : raw * r.scale };
      }),
    };
  }

  async paramSnapshots(drive: DriveRef): Promise<SnapshotView[]> {
    return this.snapshotsLog
      .filter((s) => s.drive.link === drive.link && s.drive.id === drive.id)
      .map(({ values: _values, ...s }) => structuredClone(s))
      .reverse();
  }

  private snapshotById(id: number): FakeSnapshot {
    const s = this.snapshotsLog.find((x) => x.id === id);
    if (!s) throw { kind: 'notFound', message: `snapshot ${id} not found` };
    return s;
  }

  async paramDiff(left: number, right: number): Promise<ParamDiffView[]> {
    const [l, r] = [this.snapshotById(left), this.snapshotById(right)];
    const names = [...new Set([...l.values.keys(), ...r.values.keys()])].sort();
    const si = (name: string, raw: number | undefined) => (raw === undefined ? null : raw * FAKE_TABLE.find((x) => x.name === name)!.scale);
    return names
      .filter((n) => l.values.get(n) !== r.values.get(n))
      .map((n) => ({ register: n, unit: FAKE_TABLE.find((x) => x.name === n)!.unit, left: si(n, l.values.get(n)), right: si(n, r.values.get(n)) }));
  }

  async paramExport(snapshot: number): Promise<ParamExport> {
    const s = this.snapshotById(snapshot);
    const reg = (n: string) => FAKE_TABLE.find((x) => x.name === n)!;
    const values = Object.fromEntries([...s.values].map(([n, raw]) => [n, raw * reg(n).scale]));
    const units = Object.fromEntries([...s.values.keys()].map((n) => [n, reg(n).unit]));
    const text = JSON.stringify({ model: s.model, drive: s.drive, label: s.label, takenAtMs: s.atMs, units, values }, null, 2);
    return { path: `exports/fake_snapshot${snapshot}.json`, text };
  }

  heartbeats = 0;

  async heartbeat(): Promise<void> {
    this.heartbeats++;
  }

  /** Adds a job to the journal as the store would have it (tests). */
  addJob(job: Omit<JobView, 'id' | 'link' | 'priority' | 'deadlineAtMs'> & Partial<JobView>): number {
    const id = this.nextJob++;
    this.jobsLog.push({ link: job.drive?.link ?? null, priority: 'user', deadlineAtMs: null, ...job, id });
    return id;
  }

  async jobs(query: JobQuery): Promise<JobView[]> {
    const limit = query.limit ?? 100;
    if (!(limit >= 1 && limit <= 1000)) throw { kind: 'invalid', message: `journal limit ${limit} is outside 1–1000` };
    if (query.state && !JOB_STATES.includes(query.state)) throw { kind: 'invalid', message: `unknown job state ${query.state}` };
    return this.jobsLog.filter((j) => journalMatches(j, query)).slice(-limit).reverse().map((j) => structuredClone(j));
  }

  async channels(session: number): Promise<ChannelView[]> {
    const s = this.find(session);
    return this.drivesState.flatMap((d) =>
      CHANNELS.map((name) => {
        const id = this.channelId(session, d.drive, name);
        return { id, drive: { ...d.drive }, name, unit: UNITS[name], samples: s.samples.filter((x) => x.channel === id).length };
      }));
  }

  private checkChannels(session: number, channels: number[]): FakeSession {
    const s = this.find(session);
    for (const c of channels) {
      if (this.channelOwner(c) !== session) throw { kind: 'invalid', message: `channel ${c} is not recorded in session ${session}` };
    }
    return s;
  }

  /** How many tail calls were made (tests check that paused charts stop pulling). */
  tailCalls = 0;

  async tail(session: number, after: TailCursor, channels: number[], sinceS?: number): Promise<TailBatch> {
    this.tailCalls++;
    const s = this.checkChannels(session, channels);
    // Per-channel indices, like the real store: the k-th sample of a channel has index k.
    const series = channels.map((channel) => {
      const mine = s.samples.filter((x) => x.channel === channel);
      let from = after.get(channel);
      if (from === undefined) {
        const start = sinceS ?? (this.now() - s.startedAtMs) / 1000 - 60;
        from = mine.findIndex((x) => x.t >= start);
        if (from < 0) from = mine.length;
      }
      const rest = mine.slice(from);
      return { channel, t: rest.map((x) => x.t), v: rest.map((x) => x.v), next: mine.length };
    });
    // Through the binary form, as the real backend does.
    return decodeTail(encodeTail({ series }));
  }

  /** The windows asked for (tests). */
  windows: { session: number; channels: number[]; fromS: number; toS: number; widthPx: number }[] = [];

  async window(session: number, channels: number[], fromS: number, toS: number, widthPx: number): Promise<TailBatch> {
    if (!(fromS < toS)) throw { kind: 'invalid', message: `window [${fromS}, ${toS}] s is empty or not a number` };
    this.windows.push({ session, channels: [...channels], fromS, toS, widthPx });
    // A tuning run's channels (reference, response) live in the tuning half.
    const s = this.checkChannels(session, channels.filter((c) => !this.tuning.owns(c)));
    const series = channels.map((channel) => {
      if (this.tuning.owns(channel)) return { channel, ...this.tuning.window(channel, fromS, toS) };
      const mine = s.samples.filter((x) => x.channel === channel && x.t >= fromS && x.t <= toS);
      return { channel, t: mine.map((x) => x.t), v: mine.map((x) => x.v) };
    });
    return decodeTail(encodeTail({ window: true, series }));
  }

  /** Ports the fake OS lists (tests change it to plug and unplug adapters). */
  portList: PortInfo[] = [{
    path: '/dev/ttyUSB0', kind: 'usb', vid: 0x0403, pid: 0x6014, manufacturer: 'FTDI', product: 'USB <-> Serial Converter', serialNumber: 'FT4TFSV0',
  }];
  /** Drives a scan of any port finds (tests set it). */
  scanFinds: FoundDrive[] = [];
  /** Connections made, for tests. */
  connections: { port: string; protocol: string; baud: number; ids: number[]; model: string | null }[] = [];

  async ports(): Promise<PortInfo[]> {
    return structuredClone(this.portList);
  }

  /** The scans asked for (tests). */
  scans: { port: string; protocols: string[]; bauds: number[] }[] = [];

  async scan(port: string, protocols: string[], bauds: number[]): Promise<ScanReport> {
    this.scans.push({ port, protocols: [...protocols], bauds: [...bauds] });
    if (!port.startsWith('/dev/')) throw { kind: 'link', message: `cannot open ${port}: No such file or directory` };
    const onBench = this.setup.scan(port, protocols, bauds);
    return { port, drives: onBench ?? structuredClone(this.scanFinds), tried: [['dynamixel2', 57600]], elapsedMs: 800 };
  }

  async profiles(): Promise<ProfileView[]> {
    return [
      { name: 'XM430-W350', vendor: 'ROBOTIS', protocol: 'dynamixel2' },
      { name: 'STS3215', vendor: 'Feetech', protocol: 'feetech' },
    ];
  }

  /** Recent connections, most recent first, as the settings store keeps them. */
  recent: Recent[] = [];
  /** When set, connecting fails with this message (tests: an unplugged adapter). */
  refuseConnect: string | null = null;

  /** Puts `connection` first in the recent list, once, at most 10 long (as the shell does). */
  private remember(connection: RecentConnection): void {
    const normal = { ...connection, ids: [...connection.ids].sort((a, b) => a - b) } as RecentConnection;
    this.recent = [{ connection: normal, atMs: this.now() }, ...this.recent.filter((r) => !sameConnection(r.connection, normal))].slice(0, 10);
  }

  async connectSerial(port: string, protocol: string, baud: number, ids: number[], model: string | null): Promise<number> {
    if (this.refuseConnect) throw { kind: 'link', message: this.refuseConnect };
    this.connections.push({ port, protocol, baud, ids: [...ids], model });
    this.remember({ kind: 'serial', port: port.trim(), protocol, baud, ids, model });
    return this.connections.length + 1;
  }

  async connectSim(protocol: string, ids: number[]): Promise<number> {
    if (this.refuseConnect) throw { kind: 'link', message: this.refuseConnect };
    this.connections.push({ port: 'sim', protocol, baud: 1_000_000, ids: [...ids], model: null });
    this.remember({ kind: 'sim', protocol, ids });
    return this.connections.length + 1;
  }

  async recentConnections(): Promise<Recent[]> {
    return structuredClone(this.recent);
  }

  async forgetConnection(connection: RecentConnection): Promise<Recent[]> {
    this.recent = this.recent.filter((r) => !sameConnection(r.connection, connection));
    return structuredClone(this.recent);
  }

  /** Links closed (tests); a closed link no longer holds its port. */
  readonly disconnected = new Set<number>();

  async disconnect(link: number): Promise<void> {
    this.disconnected.add(link);
  }

  private summary(s: FakeSession): SessionSummary {
    const recording = s === this.current;
    const end = s.stoppedAtMs ?? (recording ? this.now() : s.startedAtMs);
    return {
      id: s.id,
      name: s.name,
      notes: s.notes,
      startedAtMs: s.startedAtMs,
      stoppedAtMs: s.stoppedAtMs,
      durationS: (end - s.startedAtMs) / 1000,
      samples: s.samples.length,
      recording,
      drives: this.drivesState.map((d) => ({ drive: { ...d.drive }, model: d.model, port: 'fake', protocol: 'dynamixel2' })),
    };
  }

  async sessions(search?: string): Promise<SessionSummary[]> {
    const needle = search?.trim().toLowerCase() ?? '';
    return this.sessionsLog
      .filter((s) => !needle || s.name.toLowerCase().includes(needle) || s.notes.toLowerCase().includes(needle))
      .map((s) => this.summary(s))
      .reverse();
  }

  async session(id: number): Promise<SessionSummary> {
    return this.summary(this.find(id));
  }

  private switchTo(name: string, notes: string): SessionSummary {
    this.current.stoppedAtMs = this.now();
    const next = this.newSession(name, notes);
    this.sessionsLog.push(next);
    return this.summary(next);
  }

  async startSession(name: string, notes: string): Promise<SessionSummary> {
    if (!name.trim()) throw { kind: 'invalid', message: 'a session needs a name' };
    return this.switchTo(name.trim(), notes);
  }

  async stopSession(): Promise<SessionSummary> {
    return this.switchTo(this.liveName(), '');
  }

  async setSessionNotes(session: number, name: string | null, notes: string): Promise<SessionSummary> {
    if (name !== null && !name.trim()) throw { kind: 'invalid', message: 'a session needs a name' };
    const s = this.find(session);
    if (name !== null) s.name = name.trim();
    s.notes = notes;
    return this.summary(s);
  }

  async faults(session: number): Promise<FaultView[]> {
    this.find(session);
    return structuredClone(this.faultsLog.get(session) ?? []);
  }

  /** What appStatus reports as the store's failure (tests set it). */
  storeFailure: string | null = null;

  /** Files "written" by exportRange, for tests. */
  exports: { session: number; channels: number[]; fromS: number; toS: number; format: ExportFormat; units: ExportUnit[] }[] = [];

  async exportRange(session: number, channels: number[], fromS: number, toS: number, format: ExportFormat, units: ExportUnit[] = []): Promise<string> {
    if (!(fromS < toS)) throw { kind: 'invalid', message: `the range [${fromS}, ${toS}] s is empty` };
    for (const u of units) {
      if (!['rad', 'rad/s'].includes(u.siUnit) || !(u.perSi > 0) || !Number.isFinite(u.perSi)) throw { kind: 'invalid', message: `cannot convert ${u.siUnit}` };
    }
    this.exports.push({ session, channels, fromS, toS, format, units });
    return `/fake/exports/session-${session}.${format}`;
  }

  async settings(): Promise<Settings> {
    return structuredClone(this.settingsValue);
  }

  async setChartSettings(chart: ChartSettings): Promise<void> {
    if (!(chart.windowSeconds >= 1 && chart.windowSeconds <= 3600)) throw { kind: 'settings', message: 'chart window out of range' };
    this.settingsValue = { ...this.settingsValue, chart: structuredClone(chart) };
  }

  async setLookSettings(look: LookSettings): Promise<void> {
    if (!(look.sidebarPx >= 160 && look.sidebarPx <= 900 && look.journalPx >= 60 && look.journalPx <= 900)) {
      throw { kind: 'settings', message: 'panel size out of range' };
    }
    this.settingsValue = { ...this.settingsValue, look: structuredClone(look) };
  }

  /** A link lost, as the link reports it (tests call this). */
  loseLink(link: number, reason: string): void {
    this.linksLost.push({ link, reason, atMs: this.now() });
  }

  async stopNotices(sinceMs: number): Promise<StopNotice[]> {
    const stops: StopNotice[] = this.jobsLog
      .filter((j) => j.command === 'safeStop' && j.queuedAtMs >= sinceMs)
      .map((j) => ({ key: `job:${j.id}`, kind: 'safeStop', reason: j.reason?.trim() || 'safe stop (no reason recorded)', atMs: j.queuedAtMs, link: j.link, drive: j.drive }));
    for (const l of this.linksLost.filter((l) => l.atMs >= sinceMs)) {
      stops.push({ key: `link:${l.link}:${l.atMs}`, kind: 'linkLost', reason: `link ${l.link} lost: ${l.reason}`, atMs: l.atMs, link: l.link, drive: null });
    }
    return stops.sort((a, b) => a.atMs - b.atMs);
  }

  async tuneDefaults(drive: DriveRef): Promise<TuneDefaults> {
    return this.tuning.defaults(drive);
  }

  async tuneStart(drive: DriveRef, test: TestSpec): Promise<number> {
    return this.tuning.start(drive, test);
  }

  async tuneAbort(drive: DriveRef): Promise<void> {
    this.tuning.abort(drive);
  }

  async tuneRuns(query: RunQuery): Promise<RunSummary[]> {
    return this.tuning.list(query);
  }

  async tuneRun(id: number): Promise<RunView> {
    return this.tuning.run(id);
  }

  async tuneIdentify(id: number): Promise<ModelResults> {
    return this.tuning.identify(id);
  }

  async tuneExport(id: number, format: TuneExportFormat): Promise<string> {
    return this.tuning.export(id, format);
  }

  async tuneSuggest(request: SuggestRequest): Promise<SuggestionView> {
    return this.whatIf.suggest(request);
  }

  async tunePredict(request: PredictRequest): Promise<Prediction> {
    return this.whatIf.predict(request);
  }

  async tunePassive(request: PassiveRequest): Promise<PassiveView> {
    return this.whatIf.passive(request);
  }

  async tuneCompare(runs: number[]): Promise<Comparison> {
    return this.whatIf.compare(runs);
  }

  async tuneCompareExport(runs: number[], format: TuneExportFormat): Promise<string> {
    this.whatIf.compare(runs);
    return `/fake/exports/compare_runs_${runs.join('_')}.${format}`;
  }

  async setupDrive(drive: DriveRef, step: SetupStep): Promise<SetupDone> {
    return this.setup.setupDrive(drive, step);
  }

  async setupAssign(request: AssignRequest): Promise<AssignDone> {
    return this.setup.setupAssign(request);
  }
}
