// The Backend over Tauri IPC. Chart samples arrive as an ArrayBuffer (binary), the rest
// as JSON.
import { invoke } from '@tauri-apps/api/core';
import type { Backend } from './index';
import { decodeTail } from './tail';
import type { AppStatus, ChannelView, ChartSettings, Command, DriveView, ExportFormat, JobView, Settings, TailBatch, TailCursor } from './types';

export class TauriBackend implements Backend {
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
  jobs(limit: number): Promise<JobView[]> {
    return invoke('jobs', { query: { limit } });
  }
  channels(session: number): Promise<ChannelView[]> {
    return invoke('channels', { session });
  }
  async window(session: number, channels: number[], fromS: number, toS: number, widthPx: number): Promise<TailBatch> {
    const buffer = await invoke<ArrayBuffer>('window', { session, channels, fromS, toS, widthPx });
    return decodeTail(buffer);
  }

  async exportRange(session: number, channels: number[], fromS: number, toS: number, format: ExportFormat): Promise<string> {
    return invoke<string>('export_range', { session, channels, fromS, toS, format });
  }

  async tail(session: number, after: TailCursor, channels: number[]): Promise<TailBatch> {
    const buffer = await invoke<ArrayBuffer>('tail', { session, after: [...after.entries()], channels });
    return decodeTail(buffer);
  }
  settings(): Promise<Settings> {
    return invoke('settings_get');
  }
  async setChartSettings(chart: ChartSettings): Promise<void> {
    await invoke('settings_set_chart', { chart });
  }
}
