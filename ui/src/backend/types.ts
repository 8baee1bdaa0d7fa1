// The IPC contract: the shapes the Rust shell (src-tauri/src/commands.rs) sends and
// accepts. Quantities are SI: rad, rad/s, A.

export type DriveRef = { link: number; id: number };
export type DriveMode = 'position' | 'velocity';
export type Target = { position: number } | { velocity: number };

export type Command =
  | { kind: 'arm'; drive: DriveRef }
  | { kind: 'enable'; drive: DriveRef }
  | { kind: 'disable'; drive: DriveRef }
  | { kind: 'setMode'; drive: DriveRef; mode: DriveMode }
  | { kind: 'setTarget'; drive: DriveRef; target: Target }
  | { kind: 'jog'; drive: DriveRef; velocity: number; holdMs: number }
  | { kind: 'eStop' };

/** What a rejected call throws. */
export type IpcError = { kind: string; message: string };

/** A link's health counters (bucketed round-trip quantiles). */
export type HealthView = {
  rttP50Ms: number | null;
  rttP99Ms: number | null;
  exchanges: number;
  timeouts: number;
  corrupt: number;
  retries: number;
  pollHz: number;
  pollTargetHz: number;
  adapterWarning: string | null;
};

export type LinkView = {
  id: number;
  port: string;
  protocol: string;
  baud: number;
  up: boolean;
  simulated: boolean;
  health: HealthView | null;
};

export type AppStatus = {
  session: { id: number; name: string; startedAtMs: number } | null;
  links: LinkView[];
  committedCursor: number;
  /** Why the store stopped recording (disk full, read-only file), if it did. */
  storeFailure: string | null;
};

export type ExportFormat = 'csv' | 'png' | 'svg';

export type DriveView = {
  drive: DriveRef;
  model: string;
  enabled: boolean;
  mode: DriveMode;
  fault: string | null;
  target: Target | null;
  positionLimits: [number, number];
  velocityLimit: number;
  position: number | null;
  velocity: number | null;
  current: number | null;
  sampleAgeMs: number | null;
  /** False while the drive's link is lost: its real state is unknown. */
  linkUp: boolean;
};

export type JobState = 'queued' | 'sent' | 'done' | 'failed' | 'timedOut' | 'cancelled';
export const JOB_STATES: JobState[] = ['queued', 'sent', 'done', 'failed', 'timedOut', 'cancelled'];

/** One job: queued → sent → finished (ms since the epoch). */
export type JobView = {
  id: number;
  session: number | null;
  command: string;
  drive: DriveRef | null;
  state: JobState;
  reason: string | null;
  queuedAtMs: number;
  sentAtMs: number | null;
  finishedAtMs: number | null;
};

/** Which jobs to list; every field set narrows (times: ms since the epoch). */
export type JobQuery = {
  session?: number | null;
  drive?: DriveRef | null;
  command?: string | null;
  state?: JobState | null;
  sinceMs?: number | null;
  untilMs?: number | null;
  /** 1–1000, newest first. */
  limit?: number | null;
};

export type ChannelName = 'position' | 'velocity' | 'current';
export const CHANNEL_NAMES: ChannelName[] = ['position', 'velocity', 'current'];
export type ChannelView = { id: number; drive: DriveRef; name: ChannelName; unit: string; samples: number };

/** A chart channel kept across sessions: a drive's position, velocity or current. */
export type ChannelPick = { drive: DriveRef; name: ChannelName };
export type ChartSettings = { windowSeconds: number; channels: ChannelPick[] };
export type Theme = 'system' | 'dark' | 'light';
/** Theme and panel sizes (logical px). */
export type LookSettings = { theme: Theme; sidebarPx: number; journalPx: number };
export type Settings = { chart: ChartSettings; look: LookSettings };

export type SessionDriveView = { drive: DriveRef; model: string; port: string; protocol: string };
/** A session for the browser; times in ms since the epoch. */
export type SessionSummary = {
  id: number;
  name: string;
  notes: string;
  startedAtMs: number;
  stoppedAtMs: number | null;
  /** From start to stop (to now while recording). */
  durationS: number;
  samples: number;
  /** The session being recorded now. */
  recording: boolean;
  drives: SessionDriveView[];
};

/** A fault raised in a session; times in s since the session started. */
export type FaultView = { drive: DriveRef; text: string; raisedS: number; clearedS: number | null };

/** One channel's points from a tail or window call: views on the received buffer.
 * `next` is the channel's cursor to pass back to `tail`; `level` the rollup level the
 * points came from (0: samples); `decimated` when they are min/max per pixel. */
export type TailSeries = { channel: number; t: Float64Array; v: Float64Array; next: number; level: number; decimated: boolean };
export type TailBatch = { window: boolean; series: TailSeries[] };
/** Per channel: the index of the next sample wanted. */
export type TailCursor = Map<number, number>;

/** Message of anything a backend call threw. */
export function errorMessage(e: unknown): string {
  if (typeof e === 'string') return e;
  if (e && typeof e === 'object' && 'message' in e) return String((e as { message: unknown }).message);
  return String(e);
}

/** A serial port the OS lists, with its USB identity where known. */
export type PortInfo = {
  path: string;
  kind: 'usb' | 'pci' | 'bluetooth' | 'unknown';
  vid: number | null;
  pid: number | null;
  manufacturer: string | null;
  product: string | null;
  serialNumber: string | null;
};

/** A drive that answered a scan. */
export type FoundDrive = {
  protocol: string;
  baud: number;
  id: number;
  modelNumber: number | null;
  model: string | null;
  firmware: string | null;
  rttUs: number;
  idConflict: boolean;
  note: string | null;
};

export type ScanReport = { port: string; drives: FoundDrive[]; tried: [string, number][]; elapsedMs: number };

/** A drive model the app knows (built in, or from the user's profiles folder). */
export type ProfileView = { name: string; vendor: string; protocol: string };

export const PROTOCOLS = ['dynamixel2', 'dynamixel1', 'feetech', 'modbus-rtu'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];
