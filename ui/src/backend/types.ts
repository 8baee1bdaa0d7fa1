// The IPC contract: the shapes the Rust shell (src-tauri/src/commands.rs) sends and
// accepts. Quantities are SI: rad, rad/s, A.

// The shapes themselves are generated from the Rust types (ts-rs, `generated/`, written by
// `cargo test -p drivedeck`); here they are re-exported, narrowed where Rust keeps a
// string that the UI knows to be one of a few names.
import type { AppStatus } from './generated/AppStatus';
import type { ChannelPick as GeneratedChannelPick } from './generated/ChannelPick';
import type { ChannelView as GeneratedChannelView } from './generated/ChannelView';
import type { ChartSettings as GeneratedChartSettings } from './generated/ChartSettings';
import type { Command } from './generated/Command';
import type { DriveMode } from './generated/DriveMode';
import type { DriveRef } from './generated/DriveRef';
import type { DriveView } from './generated/DriveView';
import type { FaultView } from './generated/FaultView';
import type { HealthView } from './generated/HealthView';
import type { IpcError } from './generated/IpcError';
import type { JobQuery as GeneratedJobQuery } from './generated/JobQuery';
import type { JobView as GeneratedJobView } from './generated/JobView';
import type { LinkView } from './generated/LinkView';
import type { LookSettings } from './generated/LookSettings';
import type { ParamDiffView } from './generated/ParamDiffView';
import type { ParamExport } from './generated/ParamExport';
import type { ParamRegisterView as GeneratedParamRegisterView } from './generated/ParamRegisterView';
import type { ParamTable as GeneratedParamTable } from './generated/ParamTable';
import type { Recent } from './generated/Recent';
import type { RecentConnection } from './generated/RecentConnection';
import type { SnapshotView } from './generated/SnapshotView';
import type { SessionDriveView } from './generated/SessionDriveView';
import type { SessionSummary } from './generated/SessionSummary';
import type { SoftLimits } from './generated/SoftLimits';
import type { Target } from './generated/Target';
import type { Theme } from './generated/Theme';
import type { Excitation } from './generated/Excitation';
import type { FollowingMetrics } from './generated/FollowingMetrics';
import type { FrequencyResponse } from './generated/FrequencyResponse';
import type { FrfResults } from './generated/FrfResults';
import type { GainView } from './generated/GainView';
import type { Margins } from './generated/Margins';
import type { ObservableRange } from './generated/ObservableRange';
import type { RelayResult } from './generated/RelayResult';
import type { RunQuery } from './generated/RunQuery';
import type { RunResults } from './generated/RunResults';
import type { RunSummary } from './generated/RunSummary';
import type { RunView } from './generated/RunView';
import type { StepMetrics } from './generated/StepMetrics';
import type { StepReport } from './generated/StepReport';
import type { SweepKind } from './generated/SweepKind';
import type { TestLimits } from './generated/TestLimits';
import type { TestLoop } from './generated/TestLoop';
import type { TestSpec } from './generated/TestSpec';
import type { TuneDefaults } from './generated/TuneDefaults';
import type { Estimate } from './generated/Estimate';
import type { MechanicalModel } from './generated/MechanicalModel';
import type { ModelResults } from './generated/ModelResults';
import type { PhysicalModel } from './generated/PhysicalModel';
import type { AssignDone } from './generated/AssignDone';
import type { AssignRequest } from './generated/AssignRequest';
import type { ResetKeep } from './generated/ResetKeep';
import type { SetupDone } from './generated/SetupDone';
import type { SetupStep } from './generated/SetupStep';
import type { ExportUnit } from './generated/ExportUnit';
import type { ComparedRun } from './generated/ComparedRun';
import type { Comparison } from './generated/Comparison';
import type { GainSetting } from './generated/GainSetting';
import type { GainTarget } from './generated/GainTarget';
import type { GainValue } from './generated/GainValue';
import type { PredictRequest } from './generated/PredictRequest';
import type { Predicted } from './generated/Predicted';
import type { Prediction } from './generated/Prediction';
import type { SiblingFlag } from './generated/SiblingFlag';
import type { SuggestRequest } from './generated/SuggestRequest';
import type { SuggestedGain } from './generated/SuggestedGain';
import type { Suggestion } from './generated/Suggestion';
import type { SuggestionView } from './generated/SuggestionView';
import type { PassiveRequest } from './generated/PassiveRequest';
import type { PassiveView } from './generated/PassiveView';
import type { StopNotice } from './generated/StopNotice';

export type {
  AppStatus, Command, DriveMode, DriveRef, DriveView, FaultView, HealthView, IpcError, LinkView, LookSettings, ParamDiffView, ParamExport,
  Recent, RecentConnection, SessionDriveView, SessionSummary, SnapshotView, SoftLimits, Target, Theme,
};

export type {
  Excitation, FollowingMetrics, FrequencyResponse, FrfResults, GainView, Margins, ObservableRange, RelayResult, RunQuery, RunResults, RunSummary,
  RunView, StepMetrics, StepReport, SweepKind, TestLimits, TestLoop, TestSpec, TuneDefaults,
};

export type { Estimate, MechanicalModel, ModelResults, PhysicalModel };

export type {
  ComparedRun, Comparison, GainSetting, GainTarget, GainValue, PredictRequest, Predicted, Prediction, SiblingFlag, SuggestRequest,
  SuggestedGain, Suggestion, SuggestionView, PassiveRequest, PassiveView, StopNotice,
};

export type { AssignDone, AssignRequest, ExportUnit, ResetKeep, SetupDone, SetupStep };
/** What a run's report exports as. */
export type TuneExportFormat = 'png' | 'svg' | 'csv' | 'json';
export type TestKind = Excitation['kind'];
export const TEST_KINDS: TestKind[] = ['step', 'ramp', 'chirp', 'prbs', 'multisine', 'relay'];

/** One register of a drive's control table; values and limits in `unit` (SI). */
export type ParamRegisterView = Omit<GeneratedParamRegisterView, 'access'> & { access: 'r' | 'rw' };
/** A drive's control table with the values last read in the current session. */
export type ParamTable = Omit<GeneratedParamTable, 'registers'> & { registers: ParamRegisterView[] };

export type ExportFormat = 'csv' | 'png' | 'svg';

export type JobState = 'queued' | 'sent' | 'done' | 'failed' | 'timedOut' | 'cancelled';
export const JOB_STATES: JobState[] = ['queued', 'sent', 'done', 'failed', 'timedOut', 'cancelled'];

/** One job: queued → sent → finished (ms since the epoch). */
export type JobView = Omit<GeneratedJobView, 'state'> & { state: JobState };
/** Which jobs to list; every field set narrows (times: ms since the epoch). */
export type JobQuery = Omit<GeneratedJobQuery, 'state'> & { state?: JobState | null };

export type ChannelName = 'position' | 'velocity' | 'current';
export const CHANNEL_NAMES: ChannelName[] = ['position', 'velocity', 'current'];
export type ChannelView = Omit<GeneratedChannelView, 'name'> & { name: ChannelName };

/** A chart channel kept across sessions: a drive's position, velocity or current. */
export type ChannelPick = Omit<GeneratedChannelPick, 'name'> & { name: ChannelName };
export type ChartSettings = Omit<GeneratedChartSettings, 'channels'> & { channels: ChannelPick[] };
export type Settings = { chart: ChartSettings; look: LookSettings };

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

export type ScanReport = { port: string; drives: FoundDrive[]; tried: [string, number][]; elapsedMs: number; notes?: string[] };

/** A drive model the app knows (built in, or from the user's profiles folder). */
export type ProfileView = { name: string; vendor: string; protocol: string };

export const PROTOCOLS = ['dynamixel2', 'dynamixel1', 'feetech', 'modbus-rtu'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

/** The protocols whose servos take a new ID and rate over their own bus (Modbus RTU
 * drives set theirs in vendor parameters). */
export const SETUP_PROTOCOLS = ['dynamixel2', 'dynamixel1', 'feetech'] as const;
export type SetupProtocol = (typeof SETUP_PROTOCOLS)[number];

/** Every rate each protocol's Baud Rate register can encode, the fastest first (as
 * `drivedeck_proto::baud::rates`). */
export const BAUD_RATES: Record<SetupProtocol, number[]> = {
  dynamixel2: [4_500_000, 4_000_000, 3_000_000, 2_000_000, 1_000_000, 115_200, 57_600, 9_600],
  dynamixel1: [1_000_000, 500_000, 400_000, 250_000, 200_000, 115_200, 57_600, 19_200, 9_600],
  feetech: [1_000_000, 500_000, 250_000, 128_000, 115_200, 76_800, 57_600, 38_400],
};

/** Why the set-up does not offer Modbus RTU (the backend refuses it with the same words). */
export const MODBUS_SETUP_NOTE =
  'Modbus RTU drives take their unit address and baud rate from vendor parameters (often DIP switches or a keypad): set them there, then connect';
