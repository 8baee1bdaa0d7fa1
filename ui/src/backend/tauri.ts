// The Backend over Tauri IPC. Chart samples arrive as an ArrayBuffer (binary), the rest
// as JSON.
import { invoke } from '@tauri-apps/api/core';
import type { Backend } from './index';
import { decodeTail } from './tail';
import type { PortInfo, ProfileView, ScanReport } from './types';
import type { StopNotice } from './types';
import type { Comparison, PassiveRequest, PassiveView, PredictRequest, Prediction, SuggestRequest, SuggestionView } from './types';
import type {
  AppStatus, ChannelView, ChartSettings, Command, DriveRef, DriveView, ExportFormat, FaultView, JobQuery, JobView, LookSettings, ParamDiffView,
  ParamExport, ParamTable, Recent, RecentConnection, SessionSummary, Settings, SnapshotView, TailBatch, TailCursor,
} from './types';
import type { ModelResults, RunQuery, RunSummary, RunView, TestSpec, TuneDefaults, TuneExportFormat } from './types';
import type { AssignDone, AssignRequest, ExportUnit, SetupDone, SetupStep } from './types';

export class TauriBackend implements Backend {
  stopNotices(sinceMs: number): Promise<StopNotice[]> {
    return invoke('stop_notices', { sinceMs });
  }
  appStatus(): Promise<AppStatus> {
    return invoke('app_status');
  }
  drives(): Promise<DriveView[]> {
    return invoke('drives');
  }
  submit(command: Command): Promise<number> {
    return invoke('submit', { command });
  }
  async heartbeat(): Promise<void> {
    await invoke('heartbeat');
  }
  jobs(query: JobQuery): Promise<JobView[]> {
    return invoke('jobs', { query });
  }
  channels(session: number): Promise<ChannelView[]> {
    return invoke('channels', { session });
  }
  async window(session: number, channels: number[], fromS: number, toS: number, widthPx: number): Promise<TailBatch> {
    const buffer = await invoke<ArrayBuffer>('window', { session, channels, fromS, toS, widthPx });
    return decodeTail(buffer);
  }

  ports(): Promise<PortInfo[]> {
    return invoke<PortInfo[]>('ports');
  }

  scan(port: string, protocols: string[], bauds: number[]): Promise<ScanReport> {
    return invoke<ScanReport>('scan', { port, protocols, bauds });
  }

  profiles(): Promise<ProfileView[]> {
    return invoke<ProfileView[]>('profiles');
  }

  connectSerial(port: string, protocol: string, baud: number, ids: number[], model: string | null): Promise<number> {
    return invoke<number>('connect_serial', { port, protocol, baud, ids, model });
  }

  connectSim(protocol: string, ids: number[]): Promise<number> {
    return invoke<number>('connect_sim', { protocol, ids });
  }

  recentConnections(): Promise<Recent[]> {
    return invoke<Recent[]>('recent_connections');
  }

  forgetConnection(connection: RecentConnection): Promise<Recent[]> {
    return invoke<Recent[]>('recent_forget', { connection });
  }

  disconnect(link: number): Promise<void> {
    return invoke<void>('disconnect', { link });
  }

  exportRange(session: number, channels: number[], fromS: number, toS: number, format: ExportFormat, units: ExportUnit[] = []): Promise<string> {
    return invoke<string>('export_range', { session, channels, fromS, toS, format, units });
  }
  async tail(session: number, after: TailCursor, channels: number[], sinceS?: number): Promise<TailBatch> {
    const buffer = await invoke<ArrayBuffer>('tail', { session, after: [...after.entries()], channels, sinceS: sinceS ?? null });
    return decodeTail(buffer);
  }
  sessions(search?: string): Promise<SessionSummary[]> {
    return invoke('sessions', { search: search ?? null });
  }
  session(id: number): Promise<SessionSummary> {
    return invoke('session', { id });
  }
  startSession(name: string, notes: string): Promise<SessionSummary> {
    return invoke('session_start', { name, notes });
  }
  stopSession(): Promise<SessionSummary> {
    return invoke('session_stop');
  }
  setSessionNotes(session: number, name: string | null, notes: string): Promise<SessionSummary> {
    return invoke('session_set_notes', { session, name, notes });
  }
  faults(session: number): Promise<FaultView[]> {
    return invoke('faults', { session });
  }
  params(drive: DriveRef): Promise<ParamTable> {
    return invoke('params', { drive });
  }
  paramSnapshots(drive: DriveRef): Promise<SnapshotView[]> {
    return invoke('param_snapshots', { drive });
  }
  paramDiff(left: number, right: number): Promise<ParamDiffView[]> {
    return invoke('param_diff', { left, right });
  }
  paramExport(snapshot: number): Promise<ParamExport> {
    return invoke('param_export', { snapshot });
  }
  settings(): Promise<Settings> {
    return invoke('settings_get');
  }
  async setChartSettings(chart: ChartSettings): Promise<void> {
    await invoke('settings_set_chart', { chart });
  }
  async setLookSettings(look: LookSettings): Promise<void> {
    await invoke('settings_set_look', { look });
  }
  tuneDefaults(drive: DriveRef): Promise<TuneDefaults> {
    return invoke('tune_defaults', { drive });
  }
  tuneStart(drive: DriveRef, test: TestSpec): Promise<number> {
    return invoke('tune_start', { drive, test });
  }
  async tuneAbort(drive: DriveRef): Promise<void> {
    await invoke('tune_abort', { drive });
  }
  tuneRuns(query: RunQuery): Promise<RunSummary[]> {
    return invoke('tune_runs', { query });
  }
  tuneRun(id: number): Promise<RunView> {
    return invoke('tune_run', { id });
  }
  tuneIdentify(id: number): Promise<ModelResults> {
    return invoke('tune_identify', { id });
  }
  tuneExport(id: number, format: TuneExportFormat): Promise<string> {
    return invoke('tune_export', { id, format });
  }
  tuneSuggest(request: SuggestRequest): Promise<SuggestionView> {
    return invoke('tune_suggest', { request });
  }
  tunePredict(request: PredictRequest): Promise<Prediction> {
    return invoke('tune_predict', { request });
  }
  tunePassive(request: PassiveRequest): Promise<PassiveView> {
    return invoke('tune_passive', { request });
  }
  tuneCompare(runs: number[]): Promise<Comparison> {
    return invoke('tune_compare', { runs });
  }
  tuneCompareExport(runs: number[], format: TuneExportFormat): Promise<string> {
    return invoke('tune_compare_export', { runs, format });
  }
  setupDrive(drive: DriveRef, step: SetupStep): Promise<SetupDone> {
    return invoke('setup_drive', { drive, step });
  }
  setupAssign(request: AssignRequest): Promise<AssignDone> {
    return invoke('setup_assign', { request });
  }
}
