// All IPC behind one interface: the Tauri implementation in the app, an in-memory fake in
// unit tests and in a plain browser (`npm run dev`).
import type { PortInfo, ProfileView, ScanReport } from './types';
import type { StopNotice } from './types';
import type { Comparison, PassiveRequest, PassiveView, PredictRequest, Prediction, SuggestRequest, SuggestionView } from './types';
import type {
  AppStatus, ChannelView, ChartSettings, Command, DriveRef, DriveView, ExportFormat, FaultView, JobQuery, JobView, LookSettings, ParamDiffView,
  ParamExport, ParamTable, Recent, RecentConnection, SessionSummary, Settings, SnapshotView, TailBatch, TailCursor,
} from './types';
import type { ModelResults, RunQuery, RunSummary, RunView, TestSpec, TuneDefaults, TuneExportFormat } from './types';
import type { AssignDone, AssignRequest, ExportUnit, SetupDone, SetupStep } from './types';

export interface Backend {
  appStatus(): Promise<AppStatus>;
  /** Why drives stopped since `sinceMs` (supervisor stops, links lost, tests aborted), oldest first. */
  stopNotices(sinceMs: number): Promise<StopNotice[]>;
  drives(): Promise<DriveView[]>;
  /** Resolves with the job ID; rejects with an IpcError (nothing was sent). */
  submit(command: Command): Promise<number>;
  /** The UI is alive: without a beat for 500 ms the backend stops enabled drives. */
  heartbeat(): Promise<void>;
  /** The job journal, filtered, newest first. */
  jobs(query: JobQuery): Promise<JobView[]>;
  channels(session: number): Promise<ChannelView[]>;
  /** Samples after each channel's cursor; a channel not in it starts at `sinceS` (s since
   * the session started), or a minute back without it. */
  tail(session: number, after: TailCursor, channels: number[], sinceS?: number): Promise<TailBatch>;
  /** `[fromS, toS]` of a session, decimated for a chart `widthPx` wide. */
  window(session: number, channels: number[], fromS: number, toS: number, widthPx: number): Promise<TailBatch>;
  /** Writes `[fromS, toS]` of `channels` to a file; resolves with its path. */
  /** A CSV in `units` (per stored SI unit; none: SI as stored). */
  exportRange(session: number, channels: number[], fromS: number, toS: number, format: ExportFormat, units?: ExportUnit[]): Promise<string>;
  /** Serial ports the OS lists, with USB identities. */
  ports(): Promise<PortInfo[]>;
  /** Tries `protocols` (empty: all) at `bauds` (empty: the usual rates) on `port`. */
  scan(port: string, protocols: string[], bauds: number[]): Promise<ScanReport>;
  /** Drive models: the user's profiles folder, then the built-in ones. */
  profiles(): Promise<ProfileView[]>;
  /** Connects drives `ids` on a serial port; resolves with the new link's ID. A
   * connection made (here or by connectSim) joins the recent ones. */
  connectSerial(port: string, protocol: string, baud: number, ids: number[], model: string | null): Promise<number>;
  /** Starts another simulated rig; resolves with the new link's ID. */
  connectSim(protocol: string, ids: number[]): Promise<number>;
  /** Connections made before (kept across restarts), most recent first, at most 10. */
  recentConnections(): Promise<Recent[]>;
  /** Forgets one recent connection; resolves with the list left. */
  forgetConnection(connection: RecentConnection): Promise<Recent[]>;
  /** Closes a link (its drives stay as they are). */
  disconnect(link: number): Promise<void>;
  /** Sessions, newest first; `search` matches name or notes. */
  sessions(search?: string): Promise<SessionSummary[]>;
  session(id: number): Promise<SessionSummary>;
  /** Starts recording a named session (the current one stops). */
  startSession(name: string, notes: string): Promise<SessionSummary>;
  /** Stops the named recording: an automatic "Live …" session takes over (returned). */
  stopSession(): Promise<SessionSummary>;
  /** Sets a session's notes, and renames it when `name` is given. */
  setSessionNotes(session: number, name: string | null, notes: string): Promise<SessionSummary>;
  faults(session: number): Promise<FaultView[]>;
  /** A connected drive's control table with the values last read in this session. */
  params(drive: DriveRef): Promise<ParamTable>;
  /** The drive's parameter snapshots (any session), newest first. */
  paramSnapshots(drive: DriveRef): Promise<SnapshotView[]>;
  /** The registers whose values differ between two snapshots. */
  paramDiff(left: number, right: number): Promise<ParamDiffView[]>;
  /** Writes a snapshot (a backup) as a JSON file; resolves with its path and text. */
  paramExport(snapshot: number): Promise<ParamExport>;
  settings(): Promise<Settings>;
  setChartSettings(chart: ChartSettings): Promise<void>;
  setLookSettings(look: LookSettings): Promise<void>;
  /** A drive's safe default tests (for its current loop) and the limits a test keeps. */
  tuneDefaults(drive: DriveRef): Promise<TuneDefaults>;
  /** Starts a tuning test; resolves with the run's ID, rejects with an IpcError when
   * refused (drive not enabled, outside the limits: nothing was sent). */
  tuneStart(drive: DriveRef, test: TestSpec): Promise<number>;
  /** Aborts the drive's running test (the drive holds; the run ends `aborted`). */
  tuneAbort(drive: DriveRef): Promise<void>;
  /** The run list, filtered, newest first. */
  tuneRuns(query: RunQuery): Promise<RunSummary[]>;
  /** One run: `running` while it runs, `results` null until analysed. */
  tuneRun(id: number): Promise<RunView>;
  /** Fits a mechanical model to a stored run (refused while it runs, or when it did not
   * record the drive's output). */
  tuneIdentify(id: number): Promise<ModelResults>;
  /** Writes a run's report (chart or results) to a file; resolves with its path. */
  tuneExport(id: number, format: TuneExportFormat): Promise<string>;
  /** Gains for a target on a stored run's model, with their prediction; refused (with
   * the reason) for a target the link cannot observe or the drive cannot reach. Writes
   * nothing to the drive. */
  tuneSuggest(request: SuggestRequest): Promise<SuggestionView>;
  /** What gains are predicted to do on a stored run's model, and a run replayed
   * through it (the validation of a run taken with them). */
  tunePredict(request: PredictRequest): Promise<Prediction>;
  /** The step response estimated from a session range's ordinary moves (no test run);
   * refused with the reason when the range has too few moves. */
  tunePassive(request: PassiveRequest): Promise<PassiveView>;
  /** Stored runs side by side (2 to 12). */
  tuneCompare(runs: number[]): Promise<Comparison>;
  /** Writes a comparison's report to a file; resolves with its path. */
  tuneCompareExport(runs: number[], format: TuneExportFormat): Promise<string>;
  /** Runs a set-up step (new ID, new baud rate, reboot, factory reset) on a connected,
   * disabled drive; resolves with where the drive is now (its new DriveRef after a new
   * ID or a reset). Rejects with an IpcError, nothing written, when the step is refused:
   * drive enabled, reboot or reset not confirmed, ID taken, a Modbus drive. */
  setupDrive(drive: DriveRef, step: SetupStep): Promise<SetupDone>;
  /** One servo of the guided set-up: finds the one servo on a port no link holds (any ID,
   * any rate), gives it ID `to` (and rate `baud`), closes its link again. Refused, with
   * nothing written, when more than one servo answers or none does. */
  setupAssign(request: AssignRequest): Promise<AssignDone>;
}

export async function pickBackend(): Promise<Backend> {
  if ('__TAURI_INTERNALS__' in window) {
    const { TauriBackend } = await import('./tauri');
    return new TauriBackend();
  }
  const { FakeBackend } = await import('./fake');
  return new FakeBackend();
}
