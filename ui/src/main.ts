// DriveDeck's UI: lays out the screen and runs the polling loops. It keeps no model of
// the drives: everything shown comes from the backend (the store) on each poll, and the
// only way to change a drive is backend.submit().
import './locale'; // first: uPlot reads navigator.language at import time
import './style.css';
import { pickBackend } from './backend/index';
import type { ChannelName, DriveRef, DriveView, ExportFormat, Settings, TailCursor } from './backend/types';
import { errorMessage } from './backend/types';
import { advanceCursor } from './backend/tail';
import { CHANNEL_ORDER, LiveChart } from './chart';
import { ControlPanel } from './views/control';
import { DriveList, sameDrive } from './views/driveList';
import { renderJobs } from './views/jobs';
import { ConnectPanel } from './views/connect';
import { installEStop } from './estop';
import { linkText } from './status';

const LAYOUT = `
  <header class="topbar">
    <span class="brand">DriveDeck</span>
    <span id="status" class="muted">connecting…</span>
    <span id="banner" class="banner" hidden></span>
    <button id="open-connect" title="Ports, scan, connect, another simulated rig">Connect…</button>
    <button id="estop" title="Stop every drive (Esc)">E-STOP</button>
  </header>
  <main class="body">
    <aside><h2>Drives</h2><div id="drive-list"></div></aside>
    <section class="work">
      <div id="control" class="panel"></div>
      <div class="panel chart-panel">
        <div class="chart-head">
          <h2>Live</h2>
          <span id="chart-choices"></span>
          <span class="export">
            <select id="export-format" title="Export format">
              <option value="csv">CSV</option><option value="png">PNG</option><option value="svg">SVG</option>
            </select>
            <button id="export" title="Export what the chart shows">Export</button>
          </span>
        </div>
        <div id="chart"></div>
      </div>
    </section>
  </main>
  <footer class="journal panel">
    <h2>Job journal</h2>
    <div class="scroll"><table>
      <thead><tr><th>#</th><th>command</th><th>drive</th><th>state</th><th>reason</th><th>ms</th></tr></thead>
      <tbody id="jobs"></tbody>
    </table></div>
  </footer>
  <div id="connect-panel" class="panel overlay" hidden></div>`;

async function start(): Promise<void> {
  const app = document.getElementById('app')!;
  app.innerHTML = LAYOUT;
  const backend = await pickBackend();
  const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

  const banner = $('banner');
  let bannerTimer: ReturnType<typeof setTimeout> | undefined;
  const showBanner = (ok: boolean, message: string): void => {
    banner.textContent = message;
    banner.hidden = false;
    banner.classList.toggle('bad', !ok);
    clearTimeout(bannerTimer);
    bannerTimer = setTimeout(() => (banner.hidden = true), 4000);
  };
  installEStop(document, backend, showBanner);
  const connect = new ConnectPanel($('connect-panel'), backend, showBanner);
  $('open-connect').addEventListener('click', () => void (connect.isOpen ? connect.close() : connect.open()));

  let selected: DriveRef | null = null;
  let drives: DriveView[] = [];
  let session: number | null = null;
  let cursor: TailCursor = new Map();
  let generation = 0; // bumped when the chart's channels change
  const control = new ControlPanel($('control'), backend);
  const chart = new LiveChart($('chart'));
  const list = new DriveList($('drive-list'), (drive) => {
    selected = drive;
    void pickChannels();
    refreshDrives();
  });

  // Chart choices, restored from and saved to the settings store.
  let settings: Settings = { chart: { windowSeconds: 10, channels: ['position', 'velocity'] } };
  try {
    settings = await backend.settings();
  } catch (e) {
    console.warn('settings unavailable', e);
  }
  chart.windowSeconds = settings.chart.windowSeconds;
  chart.setShown(settings.chart.channels);
  const choices = $('chart-choices');
  for (const name of CHANNEL_ORDER) {
    const label = document.createElement('label');
    label.innerHTML = `<input type="checkbox" data-channel="${name}"> ${name}`;
    const box = label.querySelector('input')!;
    box.checked = settings.chart.channels.includes(name);
    box.addEventListener('change', () => {
      const shown = [...choices.querySelectorAll<HTMLInputElement>('input:checked')].map((b) => b.dataset.channel as ChannelName);
      settings = { chart: { ...settings.chart, channels: shown } };
      chart.setShown(shown);
      backend.setChartSettings(settings.chart).catch((e) => console.warn('could not save chart choices', e));
    });
    choices.appendChild(label);
  }

  async function pickChannels(): Promise<void> {
    if (session === null || !selected) return;
    const all = await backend.channels(session);
    const mine = all.filter((c) => sameDrive(c.drive, selected));
    const ids: Partial<Record<ChannelName, number>> = {};
    for (const c of mine) ids[c.name] = c.id;
    chart.setChannels(ids);
    cursor = new Map();
    generation++;
  }

  function refreshDrives(): void {
    if (!selected && drives.length > 0) {
      selected = drives[0].drive;
      void pickChannels();
    }
    list.render(drives, selected);
    control.update(drives.find((d) => sameDrive(d.drive, selected)) ?? null);
  }

  const every = (ms: number, fn: () => Promise<void>) => {
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      try {
        await fn();
      } catch (e) {
        console.warn(e);
      } finally {
        busy = false;
      }
    };
    void tick();
    return setInterval(() => void tick(), ms);
  };

  $('export').addEventListener('click', () => {
    const range = chart.visibleRange();
    const ids = chart.channels();
    if (session === null || !range || ids.length === 0) {
      showBanner(false, 'Nothing to export yet: the chart has no samples.');
      return;
    }
    const format = ($('export-format') as HTMLSelectElement).value as ExportFormat;
    backend
      .exportRange(session, ids, range[0], range[1], format)
      .then((path) => showBanner(true, `Exported ${range[0].toFixed(2)}–${range[1].toFixed(2)} s to ${path}`))
      .catch((e) => showBanner(false, `Export failed: ${errorMessage(e)}`));
  });

  every(1000, async () => {
    const status = await backend.appStatus();
    $('status').textContent = (status.links.length
      ? status.links.map(linkText).join('  |  ') + ` · ${status.session?.name ?? ''}`
      : 'no link') + (status.storeFailure ? ` · ⚠ NOT RECORDING: ${status.storeFailure}` : '');
    $('status').classList.toggle('bad', !!status.storeFailure);
    const warning = status.links.map((l) => l.health?.adapterWarning).find((w) => !!w);
    $('status').title = warning ?? '';
    if (status.session && status.session.id !== session) {
      session = status.session.id;
      await pickChannels();
    }
  });
  every(100, async () => {
    drives = await backend.drives();
    refreshDrives();
  });
  every(500, async () => renderJobs($('jobs'), await backend.jobs(50)));
  // Heartbeats tell the supervisor someone is watching; they stop if this page dies.
  every(100, () => backend.heartbeat());

  // The chart pulls from the store at most 30 times a second, one request at a time.
  let inFlight = false;
  let lastPull = 0;
  const frame = (now: number) => {
    requestAnimationFrame(frame);
    if (inFlight || now - lastPull < 1000 / 30 || session === null) return;
    const ids = chart.channels();
    if (ids.length === 0) {
      if (selected && now - lastPull > 1000) {
        lastPull = now;
        void pickChannels();
      }
      return;
    }
    inFlight = true;
    lastPull = now;
    const asked = generation;
    backend
      .tail(session, cursor, ids)
      .then((batch) => {
        if (generation !== asked) return; // the drive changed meanwhile
        cursor = advanceCursor(cursor, batch);
        chart.append(batch);
        chart.draw();
      })
      .catch((e) => console.warn('tail failed', e))
      .finally(() => (inFlight = false));
  };
  requestAnimationFrame(frame);
}

if (document.getElementById('app')) void start();
