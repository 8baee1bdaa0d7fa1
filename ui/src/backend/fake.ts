// An in-memory Backend: two drives with first-order motion, a job journal and a sample
// log served by cursor like the real store. Used by the unit tests and by `npm run dev`
// in a plain browser; it checks commands the way the engine does (range, mode, state).
import type { Backend } from './index';
import { encodeTail, decodeTail } from './tail';
import type { FoundDrive, PortInfo, ProfileView, ScanReport } from './types';
import type {
  AppStatus, ChannelName, ChannelView, ChartSettings, Command, DriveRef, DriveView, JobView, Settings, TailBatch, TailCursor, ExportFormat,
} from './types';

type Sample = { seq: number; channel: number; t: number; v: number };

const CHANNELS: ChannelName[] = ['position', 'velocity', 'current'];
const UNITS: Record<ChannelName, string> = { position: 'rad', velocity: 'rad/s', current: 'A' };

export class FakeBackend implements Backend {
  readonly submitted: Command[] = [];
  private drivesState: DriveView[];
  private jobsLog: JobView[] = [];
  private samples: Sample[] = [];
  private settingsValue: Settings = { chart: { windowSeconds: 10, channels: ['position', 'velocity'] } };
  private readonly startedAtMs: number;
  private nextJob = 1;
  private armed = new Set<number>();
  private lastStep: number;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: { autoStep?: boolean; now?: () => number } = {}) {
    this.now = options.now ?? (() => Date.now());
    this.startedAtMs = this.now();
    this.lastStep = this.startedAtMs;
    this.drivesState = [1, 2].map((id) => ({
      drive: { link: 1, id },
      model: 'XM430-W350 (fake)',
      enabled: false,
      mode: 'position',
      fault: null,
      target: null,
      positionLimits: [0, 2 * Math.PI],
      velocityLimit: 4.8,
      position: 0,
      velocity: 0,
      current: 0,
      sampleAgeMs: 0,
      linkUp: true,
    }));
    if (options.autoStep ?? false) this.timer = setInterval(() => this.step(), 10);
  }

  private readonly now: () => number;

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private channelId(drive: DriveRef, name: ChannelName): number {
    return (drive.id - 1) * CHANNELS.length + CHANNELS.indexOf(name) + 1;
  }

  /** Advances the motion to now and logs one sample per channel per drive. */
  step(): void {
    const now = this.now();
    const dt = Math.max(0, (now - this.lastStep) / 1000);
    this.lastStep = now;
    const t = (now - this.startedAtMs) / 1000;
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
        this.samples.push({ seq: this.samples.length + 1, channel: this.channelId(d.drive, name), t, v });
      }
    }
  }

  async appStatus(): Promise<AppStatus> {
    return {
      session: { id: 1, name: 'Fake session', startedAtMs: this.startedAtMs },
      links: [{
        id: 1, port: 'fake', protocol: 'dynamixel2', baud: 1_000_000, up: true, simulated: true,
        health: {
          rttP50Ms: 1, rttP99Ms: 2, exchanges: this.samples.length, timeouts: 0, corrupt: 0, retries: 0,
          pollHz: 100, pollTargetHz: 100, adapterWarning: null,
        },
      }],
      committedCursor: this.samples.length,
      storeFailure: this.storeFailure,
    };
  }

  async drives(): Promise<DriveView[]> {
    return this.drivesState.map((d) => ({ ...d, drive: { ...d.drive } }));
  }

  async submit(command: Command): Promise<number> {
    this.submitted.push(command);
    if (command.kind !== 'eStop') {
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
    const id = this.nextJob++;
    const at = this.now();
    this.apply(command);
    this.jobsLog.push({
      id,
      command: command.kind,
      drive: command.kind === 'eStop' ? null : command.drive,
      state: 'done',
      reason: null,
      queuedAtMs: at,
      finishedAtMs: at,
    });
    return id;
  }

  private apply(command: Command): void {
    if (command.kind === 'eStop') {
      for (const d of this.drivesState) {
        d.enabled = false;
        d.target = null;
      }
      return;
    }
    const d = this.drivesState.find((x) => x.drive.id === command.drive.id)!;
    switch (command.kind) {
      case 'arm': this.armed.add(d.drive.id); break;
      case 'enable': d.enabled = true; this.armed.delete(d.drive.id); break;
      case 'disable': d.enabled = false; break;
      case 'setMode': d.mode = command.mode; d.target = null; break;
      case 'setTarget': d.target = command.target; break;
      case 'jog': d.target = { velocity: command.velocity }; break;
    }
  }

  heartbeats = 0;

  async heartbeat(): Promise<void> {
    this.heartbeats++;
  }

  async jobs(limit: number): Promise<JobView[]> {
    return this.jobsLog.slice(-limit).reverse();
  }

  async channels(_session: number): Promise<ChannelView[]> {
    return this.drivesState.flatMap((d) =>
      CHANNELS.map((name) => ({ id: this.channelId(d.drive, name), drive: d.drive, name, unit: UNITS[name] })));
  }

  async tail(_session: number, after: TailCursor, channels: number[]): Promise<TailBatch> {
    // Per-channel indices, like the real store: the k-th sample of a channel has index k.
    const series = channels.map((channel) => {
      const mine = this.samples.filter((s) => s.channel === channel);
      const from = after.get(channel) ?? 0;
      const rest = mine.slice(from);
      return { channel, t: rest.map((s) => s.t), v: rest.map((s) => s.v), next: mine.length };
    });
    // Through the binary form, as the real backend does.
    return decodeTail(encodeTail({ series }));
  }

  async window(_session: number, channels: number[], fromS: number, toS: number, _widthPx: number): Promise<TailBatch> {
    const series = channels.map((channel) => {
      const mine = this.samples.filter((s) => s.channel === channel && s.t >= fromS && s.t <= toS);
      return { channel, t: mine.map((s) => s.t), v: mine.map((s) => s.v) };
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

  async scan(port: string, _protocols: string[], _bauds: number[]): Promise<ScanReport> {
    if (!port.startsWith('/dev/')) throw { kind: 'link', message: `cannot open ${port}: No such file or directory` };
    return { port, drives: structuredClone(this.scanFinds), tried: [['dynamixel2', 57600]], elapsedMs: 800 };
  }

  async profiles(): Promise<ProfileView[]> {
    return [
      { name: 'XM430-W350', vendor: 'ROBOTIS', protocol: 'dynamixel2' },
      { name: 'STS3215', vendor: 'Feetech', protocol: 'feetech' },
    ];
  }

  async connectSerial(port: string, protocol: string, baud: number, ids: number[], model: string | null): Promise<number> {
    this.connections.push({ port, protocol, baud, ids: [...ids], model });
    return this.connections.length + 1;
  }

  async connectSim(protocol: string, ids: number[]): Promise<number> {
    this.connections.push({ port: 'sim', protocol, baud: 1_000_000, ids: [...ids], model: null });
    return this.connections.length + 1;
  }

  async disconnect(_link: number): Promise<void> {}

  /** What appStatus reports as the store's failure (tests set it). */
  storeFailure: string | null = null;

  /** Files "written" by exportRange, for tests. */
  exports: { session: number; channels: number[]; fromS: number; toS: number; format: ExportFormat }[] = [];

  async exportRange(session: number, channels: number[], fromS: number, toS: number, format: ExportFormat): Promise<string> {
    if (!(fromS < toS)) throw { kind: 'invalid', message: `the range [${fromS}, ${toS}] s is empty` };
    this.exports.push({ session, channels, fromS, toS, format });
    return `/fake/exports/session-${session}.${format}`;
  }

  async settings(): Promise<Settings> {
    return structuredClone(this.settingsValue);
  }

  async setChartSettings(chart: ChartSettings): Promise<void> {
    this.settingsValue = { chart: structuredClone(chart) };
  }
}
