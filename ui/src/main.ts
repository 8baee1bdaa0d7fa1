// DriveDeck's UI: lays out the screen and runs the polling loops. It keeps no model of
// the drives: everything shown comes from the backend (the store) on each poll, and the
// only way to change a drive is backend.submit().
//
// The chart shows one session at a time: the one being recorded (live) or a past one
// (replay). It pulls from the store at most once per animation frame, with at most one
// request in flight, so drawing never waits on the bus and the bus never waits on it.
import './locale'; // first: uPlot reads navigator.language at import time
import './style.css';
import { pickBackend } from './backend/index';
import type { ChannelPick, ChannelView, DriveRef, DriveView, ExportFormat, LookSettings, SessionSummary, Settings, TailBatch } from './backend/types';
import { CHANNEL_NAMES, errorMessage } from './backend/types';
import { ChartFeed } from './chart/feed';
import type { FeedRequest } from './chart/feed';
import { StackedChart } from './chart/panels';
import { DISPLAY, channelColor, channelLabel, driveKey, resolvePicks, samePick } from './chart/channels';
import type { ChartChannel } from './chart/channels';
import { cursorReadouts } from './chart/cursors';
import { TriggerDetector, checkTrigger } from './chart/trigger';
import type { TriggerSpec } from './chart/trigger';
import { ControlPanel } from './views/control';
import { DriveList, sameDrive } from './views/driveList';
import { Journal } from './views/jobs';
import { SessionsView, formatDuration } from './views/sessions';
import { ConnectPanel } from './views/connect';
import { ParamsPanel } from './views/params';
import { TuningView } from './views/tuning';
import { installEStop } from './estop';
import { linkText } from './status';
import { installTheme, nextTheme } from './theme';
import { installShortcuts, shortcutsHtml } from './shortcuts';
import { heartbeatWorker, startHeartbeat } from './heartbeat';
import { StopBanner } from './views/stops';
import type { Shortcut } from './shortcuts';
import { UNIT_SYSTEMS, exportUnits, isUnitSystem, loadUnitSystem, onUnitSystem, setUnitSystem, unitSystem } from './units';
import { applyFolds, applySizes, loadFolds, saveFolds, splitter } from './layout';
import type { Folds } from './layout';

const WINDOWS_S = [5, 10, 30, 60, 300];

const LAYOUT = `
  <header class="topbar">
    <span class="brand">DriveDeck</span>
    <button id="record" title="Record a named session (R)"><span class="rec-dot"></span> <span id="record-label">Record</span></button>
    <button id="sessions-btn" title="Browse and replay sessions (S)">Sessions</button>
    <span id="replay-banner" class="replay-banner" hidden>Replaying <b id="replay-name"></b>
      <button id="back-live" title="Back to the live session (L)">Back to live</button></span>
    <span id="banner" class="banner" hidden></span>
    <span class="spacer"></span>
    <button id="open-tuning" title="Tuning: step, ramp, chirp, PRBS, multisine and relay tests on the selected drive, Bode, metrics, runs (U)">Tuning…</button>
    <button id="open-params" title="The selected drive's control table: read, write, backup, restore">Parameters…</button>
    <button id="open-connect" title="Ports, scan, connect, another simulated rig">Connect…</button>
    <button id="estop" title="Stop every drive (Esc)">E-STOP</button>
  </header>
  <div id="stops" class="stops" hidden></div>
  <main class="body">
    <aside id="sidebar">
      <h2>Drives</h2><div id="drive-list"></div>
      <h2 class="picker-title">Chart channels</h2>
      <div id="chart-choices" class="picker"></div>
    </aside>
    <div id="split-sidebar" class="splitter vertical" title="Drag to resize (double-click: default)"></div>
    <section class="work">
      <div id="control" class="panel"></div>
      <div class="panel chart-panel">
        <div class="chart-head">
          <h2 id="chart-title">Live</h2>
          <button id="pause" title="Pause / resume (Space)">Pause</button>
          <button id="follow" title="Follow the live edge (L)">Live</button>
          <select id="chart-window" title="Seconds shown while live">${WINDOWS_S.map((s) => `<option value="${s}">${s} s</option>`).join('')}</select>
          <label title="Fit each panel's y axis to what is shown (A)"><input type="checkbox" id="autoscale" checked> autoscale</label>
          <button id="clear-cursors" title="Clear cursors A and B (C)">Clear cursors</button>
          <button id="trigger-toggle" title="Triggered capture">Trigger ▾</button>
          <span class="export">
            <select id="export-format" title="Export format">
              <option value="csv">CSV</option><option value="png">PNG</option><option value="svg">SVG</option>
            </select>
            <label title="Write the CSV in SI units (rad, rad/s) rather than the units shown"><input type="checkbox" id="export-si"> SI</label>
            <button id="export" title="Export what the chart shows (E); a CSV in the units shown unless SI is ticked">Export</button>
          </span>
        </div>
        <div id="trigger-row" class="chart-head trigger-row" hidden>
          <span class="muted">Trigger</span>
          <select id="trig-source" title="Trigger source"><option value="fault">on fault</option></select>
          <select id="trig-edge" title="Edge"><option value="rising">rising ↗</option><option value="falling">falling ↘</option></select>
          <input id="trig-level" size="7" inputmode="decimal" placeholder="level" title="Level, in the channel's unit"><span id="trig-unit" class="muted"></span>
          <label>pre <input id="trig-pre" size="4" value="1" inputmode="decimal"> s</label>
          <label>post <input id="trig-post" size="4" value="1" inputmode="decimal"> s</label>
          <button id="trig-arm" title="Arm / disarm the trigger (K)">Arm</button>
          <span id="trig-state" class="muted"></span>
        </div>
        <div id="replay-bar" class="chart-head" hidden>
          <span class="muted">Playhead</span>
          <input id="playhead" type="range" min="0" max="1" step="0.001" value="0">
          <span id="playhead-time" class="num"></span>
        </div>
        <div id="chart"></div>
        <div id="readouts" class="readouts-table" hidden></div>
      </div>
    </section>
  </main>
  <div id="split-journal" class="splitter horizontal" title="Drag to resize (double-click: default)"></div>
  <section id="journal" class="journal panel"></section>
  <footer class="statusbar">
    <span id="status" class="muted">connecting…</span>
    <span id="rec-state"></span>
    <span id="view-state"></span>
    <span id="committed" class="muted"></span>
    <span class="folds">
      <button id="fold-control" title="Show / hide the drive controls above the chart">Controls</button>
      <button id="fold-journal" title="Show / hide the job journal below the chart">Journal</button>
      <button id="chart-only" title="Chart only: hide everything else (F)">Chart only</button>
    </span>
    <label class="units-pick" title="Units shown and typed everywhere: drive cards, targets, soft limits, chart, Parameters">Units
      <select id="units">${UNIT_SYSTEMS.map((u) => `<option value="${u.system}">${u.label}</option>`).join('')}</select></label>
    <button id="theme" title="Theme: system / dark / light (T)"></button>
    <button id="help-btn" title="Keyboard shortcuts and first steps (?)">?</button>
  </footer>
  <div id="help" class="modal" hidden><div class="modal-box">
    <h2>Keyboard shortcuts</h2><div id="help-keys"></div>
    <p class="muted small">Chart: drag to zoom, wheel to zoom, shift+wheel or right-drag to pan, click for cursor A,
      shift+click for cursor B, double-click to go back to live (or the whole replay).</p>
    <h2 id="first-steps">First steps</h2>
    <ol class="first-steps small">
      <li><b>Connect</b>: with no hardware the simulated rig is already connected. For a real bus,
        <i>Connect…</i> lists the serial ports; pick the protocol and baud rate, <i>Scan</i>, then connect the drives found.
        A new bus (servos leave the factory with the same ID): <i>Connect… → Set up a new bus…</i> gives them their IDs
        (and a baud rate) one servo at a time — connect one alone, <i>Find &amp; set</i>, the next, … then <i>Finish</i> scans
        the whole bus to connect it. A connected, disabled drive's ID, baud rate, reboot and factory reset are in the
        <i>Bus set-up</i> bar of <i>Parameters…</i> (reboot and reset ask first). Modbus drives set their address and rate
        in vendor parameters.</li>
      <li><b>Arm</b>: select a drive on the left, <i>Enable</i>, and confirm the prompt. Esc (or E-STOP) stops every drive at any time.</li>
      <li><b>Move</b>: type a target (in the units chosen in the control panel) and <i>Move</i>, or hold a jog button.
        Soft limits keep targets inside a window you set.</li>
      <li><b>Record</b>: R names a session and records it; S browses, searches and replays past sessions.</li>
      <li><b>Export</b>: zoom the chart to the part you want, pick CSV, PNG or SVG and <i>Export</i> (E).</li>
      <li><b>Tune</b>: <i>Tuning…</i> (U) runs a step, ramp, chirp, PRBS, multisine or relay test on the selected (enabled) drive
        within the limits shown beside the form, then shows its time chart, the Bode with coherence and margins, the metrics,
        and every run kept to reopen and export. <i>Parameters…</i> reads and writes the selected drive's gains (backup and restore with a diff first);
        watch the step response on the chart, place cursors A and B (click, shift+click) to read rise time and overshoot.</li>
    </ol>
    <button id="help-close">Close</button>
  </div></div>
  <div id="connect-panel" class="panel overlay" hidden></div>
  <div id="params-panel" class="panel overlay params-overlay" hidden></div>
  <div id="tuning-panel" class="panel overlay tune-overlay" hidden></div>`;

type Shown = { session: number; startedAtMs: number; name: string; replay: boolean; endS: number };

async function start(): Promise<void> {
  const app = document.getElementById('app')!;
  app.innerHTML = LAYOUT;
  const backend = await pickBackend();
  const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
  const html = document.documentElement;

  const banner = $('banner');
  let bannerTimer: ReturnType<typeof setTimeout> | undefined;
  const showBanner = (ok: boolean, message: string): void => {
    banner.textContent = message;
    banner.hidden = false;
    banner.classList.toggle('bad', !ok);
    clearTimeout(bannerTimer);
    bannerTimer = setTimeout(() => (banner.hidden = true), 6000);
  };
  installEStop(document, backend, showBanner);
  const connect = new ConnectPanel($('connect-panel'), backend, showBanner);
  $('open-connect').addEventListener('click', () => void (connect.isOpen ? connect.close() : connect.open()));

  // Settings first: the layout and theme must not jump after the first paint.
  let settings: Settings = {
    chart: { windowSeconds: 10, channels: [{ drive: { link: 1, id: 1 }, name: 'position' }, { drive: { link: 1, id: 1 }, name: 'velocity' }] },
    look: { theme: 'system', sidebarPx: 300, journalPx: 160 },
  };
  try {
    settings = await backend.settings();
  } catch (e) {
    console.warn('settings unavailable', e);
  }
  let look: LookSettings = settings.look;
  let picks: ChannelPick[] = settings.chart.channels;
  const saveLook = () => backend.setLookSettings(look).catch((e) => showBanner(false, `Could not save the look: ${errorMessage(e)}`));
  const saveChart = () => backend.setChartSettings(settings.chart).catch((e) => console.warn('could not save chart choices', e));
  applySizes(html, look);
  splitter($('split-sidebar'), 'sidebarPx', () => look, (s) => { look = { ...look, ...s }; applySizes(html, look); }, () => void saveLook());
  splitter($('split-journal'), 'journalPx', () => look, (s) => { look = { ...look, ...s }; applySizes(html, look); }, () => void saveLook());

  // Folding the controls and the journal away gives the chart the window (remembered).
  const storage = (() => { try { return window.localStorage; } catch { return null; } })();
  let folds: Folds = loadFolds(storage);
  const setFolds = (next: Folds) => {
    folds = next;
    applyFolds(app, folds);
    saveFolds(storage, folds);
    $('fold-control').setAttribute('aria-pressed', String(folds.control));
    $('fold-journal').setAttribute('aria-pressed', String(folds.journal));
    $('chart-only').setAttribute('aria-pressed', String(folds.chartOnly));
  };
  setFolds(folds);
  $('fold-control').addEventListener('click', () => setFolds({ ...folds, control: !folds.control }));
  $('fold-journal').addEventListener('click', () => setFolds({ ...folds, journal: !folds.journal }));
  const toggleChartOnly = () => setFolds({ ...folds, chartOnly: !folds.chartOnly });
  $('chart-only').addEventListener('click', toggleChartOnly);

  // The unit system before anything is drawn: every view reads it when it shows a value.
  setUnitSystem(loadUnitSystem(storage));
  $<HTMLSelectElement>('units').value = loadUnitSystem(storage);
  $('units').addEventListener('change', () => {
    const v = $<HTMLSelectElement>('units').value;
    if (isUnitSystem(v)) setUnitSystem(v, storage);
  });

  const feed = new ChartFeed();
  feed.windowSeconds = settings.chart.windowSeconds;
  $<HTMLSelectElement>('chart-window').value = String(settings.chart.windowSeconds);
  let cursors: { a: number | null; b: number | null } = { a: null, b: null };
  let hoverT: number | null = null;
  const chart = new StackedChart($('chart'), {
    range: (from, to) => feed.zoomTo(from, to),
    cursor: (which, t) => {
      cursors = { ...cursors, [which]: t };
      feed.dirty = true;
    },
    reset: () => feed.follow(),
    hover: (t) => (hoverT = t),
  });

  const setTheme = installTheme(html, look.theme, () => {
    chart.rebuild();
    feed.dirty = true;
  });
  const showThemeChoice = () => ($('theme').textContent = `theme: ${look.theme}`);
  showThemeChoice();
  const cycleTheme = () => {
    look = { ...look, theme: nextTheme(look.theme) };
    setTheme(look.theme);
    showThemeChoice();
    void saveLook();
  };
  $('theme').addEventListener('click', cycleTheme);

  let selected: DriveRef | null = null;
  let drives: DriveView[] = [];
  let shown: Shown | null = null;
  let shownChannels: ChannelView[] = [];
  let recordingId: number | null = null;
  const control = new ControlPanel($('control'), backend);
  // A set-up step that gives a drive another ID: the selection and its chart channels follow.
  const driveMoved = (from: DriveRef, to: DriveRef) => {
    if (sameDrive(selected, from)) selected = to;
    if (picks.some((p) => sameDrive(p.drive, from))) {
      picks = picks.map((p) => (sameDrive(p.drive, from) ? { ...p, drive: to } : p));
      settings = { ...settings, chart: { ...settings.chart, channels: picks } };
      void saveChart();
      applyChannels();
    }
    refreshDrives();
    if (tuning.isOpen) void tuning.open(selected);
  };
  const params = new ParamsPanel($('params-panel'), backend, showBanner, (from, to) => driveMoved(from, to));
  const tuning = new TuningView($('tuning-panel'), backend);
  const toggleTuning = () => void (tuning.isOpen ? tuning.close() : tuning.open(selected));
  $('open-tuning').addEventListener('click', toggleTuning);
  onUnitSystem(() => {
    chart.rebuild();
    feed.dirty = true;
    control.unitsChanged();
    params.unitsChanged();
    tuning.unitsChanged();
  });
  $('open-params').addEventListener('click', () => void (params.isOpen ? params.close() : params.open(selected)));
  const list = new DriveList($('drive-list'), (drive) => {
    selected = drive;
    refreshDrives();
    if (params.isOpen) void params.open(selected);
    if (tuning.isOpen) void tuning.open(selected);
  });
  const journal = new Journal($('journal'), backend, () => {
    const range = feed.visibleRange();
    return {
      session: shown?.session ?? null,
      chartRangeMs: shown && range ? [shown.startedAtMs + range[0] * 1000, shown.startedAtMs + range[1] * 1000] : null,
      nowMs: Date.now(),
    };
  });

  // --- Which channels the chart shows ------------------------------------------------
  const shownChartChannels = (): ChartChannel[] => resolvePicks(picks, shownChannels);

  function renderPicker(): void {
    const root = $('chart-choices');
    const drivesSeen: DriveRef[] = [];
    for (const c of shownChannels) if (!drivesSeen.some((d) => sameDrive(d, c.drive))) drivesSeen.push(c.drive);
    const key = drivesSeen.map(driveKey).join(',');
    if (root.dataset.drives !== key) {
      root.dataset.drives = key;
      root.innerHTML = `<table><thead><tr><th></th>${CHANNEL_NAMES.map((n) => `<th>${n}</th>`).join('')}</tr></thead><tbody>${drivesSeen
        .map((d) => `<tr><th>${driveKey(d)}</th>${CHANNEL_NAMES.map((n) =>
          `<td><input type="checkbox" data-link="${d.link}" data-drive-id="${d.id}" data-channel="${n}" title="${driveKey(d)} ${n} (${DISPLAY[n].unit})"></td>`).join('')}</tr>`)
        .join('')}</tbody></table>`;
      for (const box of root.querySelectorAll<HTMLInputElement>('input')) {
        box.addEventListener('change', () => {
          const pick: ChannelPick = { drive: { link: Number(box.dataset.link), id: Number(box.dataset.driveId) }, name: box.dataset.channel as ChannelPick['name'] };
          picks = box.checked ? [...picks.filter((p) => !samePick(p, pick)), pick] : picks.filter((p) => !samePick(p, pick));
          settings = { ...settings, chart: { ...settings.chart, channels: picks } };
          void saveChart();
          applyChannels();
        });
      }
    }
    for (const box of root.querySelectorAll<HTMLInputElement>('input')) {
      const pick: ChannelPick = { drive: { link: Number(box.dataset.link), id: Number(box.dataset.driveId) }, name: box.dataset.channel as ChannelPick['name'] };
      box.checked = picks.some((p) => samePick(p, pick));
      box.parentElement!.style.setProperty('--swatch', channelColor(pick));
    }
  }

  function applyChannels(): void {
    const channels = shownChartChannels();
    const before = feed.channels.map((c) => c.id).join();
    if (channels.map((c) => c.id).join() !== before) {
      feed.setChannels(channels);
      chart.setChannels(channels);
    }
    renderTriggerSources();
    journal.setDrives([...new Map(shownChannels.map((c) => [driveKey(c.drive), c.drive])).values()]);
  }

  async function loadChannels(): Promise<void> {
    if (!shown) return;
    const session = shown.session;
    const channels = await backend.channels(session);
    if (shown?.session !== session) return;
    const changed = channels.map((c) => c.id).join() !== shownChannels.map((c) => c.id).join();
    shownChannels = channels;
    if (changed) {
      renderPicker();
      applyChannels();
    }
  }

  /** Shows a session: the one being recorded (live) or a past one (replay). */
  async function show(session: SessionSummary, replay: boolean): Promise<void> {
    shown = { session: session.id, startedAtMs: session.startedAtMs, name: session.name, replay, endS: session.durationS };
    shownChannels = await backend.channels(session.id);
    cursors = { a: null, b: null };
    const channels = shownChartChannels();
    feed.liveStart = () => (shown && !shown.replay ? (Date.now() - shown.startedAtMs) / 1000 - feed.windowSeconds : undefined);
    feed.setSource(session.id, channels, replay ? { endS: session.durationS } : null);
    chart.setChannels(channels);
    renderPicker();
    renderTriggerSources();
    journal.setDrives([...new Map(shownChannels.map((c) => [driveKey(c.drive), c.drive])).values()]);
    $('replay-banner').hidden = !replay;
    $('replay-name').textContent = session.name;
    $('replay-bar').hidden = !replay;
    const playhead = $<HTMLInputElement>('playhead');
    playhead.max = String(Math.max(0.001, session.durationS));
    playhead.value = '0';
    html.dataset.replay = replay ? 'true' : 'false';
    void journal.refresh();
  }

  const sessions = new SessionsView(document.body, backend, {
    recording: (session) => {
      recordingId = session.id;
      renderRecordButton();
      if (!shown?.replay) void show(session, false);
    },
    open: (session) => void show(session, !session.recording).catch((e) => showBanner(false, `Could not open: ${errorMessage(e)}`)),
    message: showBanner,
  });
  $('record').addEventListener('click', () => sessions.openRecord());
  $('sessions-btn').addEventListener('click', () => void sessions.openBrowser());
  const backToLive = async () => {
    if (recordingId === null) return;
    await show(await backend.session(recordingId), false);
  };
  $('back-live').addEventListener('click', () => void backToLive());

  function renderRecordButton(): void {
    const current = sessions.current;
    const named = sessions.named();
    const button = $('record');
    button.classList.toggle('recording', named);
    // Only the label's text changes: replacing the button's children under the pointer
    // would swallow a click.
    const label = named ? `${current!.name} ${formatDuration((Date.now() - current!.startedAtMs) / 1000)}` : 'Record';
    if ($('record-label').textContent !== label) $('record-label').textContent = label;
    $('rec-state').textContent = current ? (named ? `● REC “${current.name}”` : `recording into “${current.name}”`) : '';
    $('rec-state').classList.toggle('rec', named);
  }

  // --- Chart controls -----------------------------------------------------------------
  const togglePause = () => {
    if (feed.mode === 'live') feed.pause();
    else feed.follow();
  };
  $('pause').addEventListener('click', togglePause);
  $('follow').addEventListener('click', () => (shown?.replay ? void backToLive() : feed.follow()));
  $('chart-window').addEventListener('change', () => {
    const seconds = Number($<HTMLSelectElement>('chart-window').value);
    feed.setWindowSeconds(seconds);
    settings = { ...settings, chart: { ...settings.chart, windowSeconds: seconds } };
    void saveChart();
  });
  const setAutoscale = (on: boolean) => {
    chart.autoscale = on;
    $<HTMLInputElement>('autoscale').checked = on;
    feed.dirty = true;
  };
  $('autoscale').addEventListener('change', () => setAutoscale($<HTMLInputElement>('autoscale').checked));
  const clearCursors = () => {
    cursors = { a: null, b: null };
    feed.dirty = true;
  };
  $('clear-cursors').addEventListener('click', clearCursors);
  $('playhead').addEventListener('input', () => feed.centerOn(Number($<HTMLInputElement>('playhead').value)));

  const exportRange = () => {
    const range = feed.visibleRange();
    const ids = feed.channels.map((c) => c.id);
    if (!shown || !range || ids.length === 0) {
      showBanner(false, 'Nothing to export yet: the chart has no samples.');
      return;
    }
    const format = $<HTMLSelectElement>('export-format').value as ExportFormat;
    backend
      .exportRange(shown.session, ids, range[0], range[1], format, format === 'csv' ? exportUnits(unitSystem(), $<HTMLInputElement>('export-si').checked) : [])
      .then((path) => {
        $('export').dataset.lastPath = path;
        showBanner(true, `Exported ${range[0].toFixed(2)}–${range[1].toFixed(2)} s to ${path}`);
      })
      .catch((e) => showBanner(false, `Export failed: ${errorMessage(e)}`));
  };
  $('export').addEventListener('click', exportRange);

  // --- Trigger --------------------------------------------------------------------------
  function renderTriggerSources(): void {
    const select = $<HTMLSelectElement>('trig-source');
    const chosen = select.value;
    const options = [new Option('on fault', 'fault'), ...feed.channels.map((c) => new Option(channelLabel(c), String(c.id)))];
    select.replaceChildren(...options);
    select.value = options.some((o) => o.value === chosen) ? chosen : 'fault';
    triggerUnit();
  }
  const triggerUnit = () => {
    const id = Number($<HTMLSelectElement>('trig-source').value);
    const channel = feed.channels.find((c) => c.id === id);
    $('trig-unit').textContent = channel ? DISPLAY[channel.name].unit : '';
    const level = !!channel;
    $<HTMLInputElement>('trig-level').disabled = !level;
    $<HTMLSelectElement>('trig-edge').disabled = !level;
  };
  $('trig-source').addEventListener('change', triggerUnit);
  const toggleTrigger = () => {
    if (feed.trigger) {
      feed.disarm();
      return;
    }
    if (shown?.replay) {
      showBanner(false, 'A trigger watches the live session: go back to live first.');
      return;
    }
    const source = $<HTMLSelectElement>('trig-source').value;
    const preS = Number($<HTMLInputElement>('trig-pre').value);
    const postS = Number($<HTMLInputElement>('trig-post').value);
    let spec: TriggerSpec;
    if (source === 'fault') spec = { kind: 'fault', preS, postS };
    else {
      const channel = feed.channels.find((c) => c.id === Number(source))!;
      const text = $<HTMLInputElement>('trig-level').value.trim();
      const shownLevel = text === '' ? NaN : Number(text);
      spec = { kind: 'level', channel: channel.id, level: DISPLAY[channel.name].toSi(shownLevel), edge: $<HTMLSelectElement>('trig-edge').value as 'rising' | 'falling', preS, postS };
    }
    const problem = checkTrigger(spec);
    if (problem) {
      $('trig-state').textContent = problem;
      $('trig-state').classList.add('error');
      return;
    }
    $('trig-state').classList.remove('error');
    feed.arm((at) => new TriggerDetector(spec, at));
  };
  $('trig-arm').addEventListener('click', toggleTrigger);
  let triggerOpen = false;
  $('trigger-toggle').addEventListener('click', () => {
    triggerOpen = !triggerOpen;
    feed.dirty = true;
  });

  function renderTriggerState(): void {
    const t = feed.trigger;
    // The trigger row shows while open or armed, and is out of the chart's way otherwise.
    setHidden($('trigger-row'), !(triggerOpen || t));
    setText($('trigger-toggle'), triggerOpen || t ? 'Trigger ▴' : 'Trigger ▾');
    const button = $('trig-arm');
    setText(button, t ? 'Disarm' : 'Arm');
    if (button.classList.contains('armed') !== !!t) button.classList.toggle('armed', !!t);
    const state = $('trig-state');
    if (!t) {
      if (!state.classList.contains('error')) setText(state, '');
      return;
    }
    if (state.classList.contains('error')) state.classList.remove('error');
    setText(state, t.firedAt === null
      ? 'armed: waiting…'
      : feed.mode === 'captured'
        ? `captured at ${t.firedAt.toFixed(3)} s`
        : `fired at ${t.firedAt.toFixed(3)} s, recording ${t.spec.postS} s more…`);
    setData($('chart'), 'trigger', t.firedAt === null ? 'armed' : feed.mode === 'captured' ? 'captured' : 'fired');
  }

  // --- Drawing ----------------------------------------------------------------------
  // A frame writes to the DOM only what changed: a text or attribute set to the value it
  // already had still costs WebKit a style and layout pass, sixty times a second.
  const setText = (el: HTMLElement, text: string) => {
    if (el.textContent !== text) el.textContent = text;
  };
  const setData = (el: HTMLElement, key: string, value: string | undefined) => {
    if (value === undefined) {
      if (key in el.dataset) delete el.dataset[key];
    } else if (el.dataset[key] !== value) el.dataset[key] = value;
  };
  const setHidden = (el: HTMLElement, hidden: boolean) => {
    if (el.hidden !== hidden) el.hidden = hidden;
  };
  function draw(): void {
    const range = feed.visibleRange();
    const data = feed.data();
    chart.markers = { ...cursors, trigger: feed.trigger?.firedAt ?? null };
    chart.autoscale = $<HTMLInputElement>('autoscale').checked;
    chart.render(range, data);
    const root = $('chart');
    const position = feed.channels.find((c) => c.name === 'position');
    const points = position ? data.get(position.id) : undefined;
    setData(root, 'points', String(points?.t.length ?? 0));
    setData(root, 'lastPosition', points && points.v.length > 0 ? DISPLAY.position.toDisplay(points.v[points.v.length - 1]).toFixed(2) : '');
    setData(root, 'mode', feed.mode);
    setData(root, 'range', range ? `${range[0].toFixed(3)},${range[1].toFixed(3)}` : '');
    if (!feed.trigger) setData(root, 'trigger', undefined);
    const title = shown?.replay ? `Replay: ${shown.name}` : feed.mode === 'live' ? 'Live' : feed.mode === 'captured' ? 'Captured' : 'Paused';
    setText($('chart-title'), title);
    setText($('view-state'), shown?.replay ? `replaying “${shown.name}”` : feed.mode);
    setText($('pause'), feed.mode === 'live' ? 'Pause' : 'Resume');
    setHidden($('pause'), !!shown?.replay);
    setHidden($('chart-window'), !!shown?.replay);
    setText($('follow'), shown?.replay ? 'Back to live' : 'Live');
    const follow = $<HTMLButtonElement>('follow');
    if (follow.disabled !== (feed.mode === 'live')) follow.disabled = feed.mode === 'live';
    if (shown?.replay && range) $<HTMLInputElement>('playhead').value = String((range[0] + range[1]) / 2);
    if (shown?.replay && range) setText($('playhead-time'), `${range[0].toFixed(2)} – ${range[1].toFixed(2)} s of ${formatDuration(shown.endS)}`);
    renderTriggerState();
    renderReadouts(data);
  }

  function renderReadouts(data: ReturnType<ChartFeed['data']>): void {
    const box = $('readouts');
    if (cursors.a === null && cursors.b === null) {
      setHidden(box, true);
      return;
    }
    setHidden(box, false);
    const r = cursorReadouts(feed.channels, data, cursors.a, cursors.b);
    const f = (v: number | null, digits: number) => (v === null ? '—' : v.toFixed(digits));
    box.innerHTML = `<table><thead><tr><th></th><th>A ${f(r.a, 3)} s</th><th>B ${f(r.b, 3)} s</th><th>Δ ${f(r.dt, 4)} s${r.hz ? ` (${r.hz.toFixed(2)} Hz)` : ''}</th></tr></thead><tbody>${r.rows
      .map((row) => `<tr data-channel="${row.channel.id}"><th style="color:${channelColor(row.channel)}">${channelLabel(row.channel)}</th>
        <td class="num cursor-a">${f(row.a, row.digits)} ${row.unit}</td><td class="num cursor-b">${f(row.b, row.digits)} ${row.unit}</td>
        <td class="num cursor-delta">${f(row.delta, row.digits)} ${row.unit}</td></tr>`)
      .join('')}</tbody></table>`;
  }

  // --- Polling ------------------------------------------------------------------------
  function refreshDrives(): void {
    if (!selected && drives.length > 0) selected = drives[0].drive;
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

  every(1000, async () => {
    const status = await backend.appStatus();
    $('status').textContent = (status.links.length ? status.links.map(linkText).join('  |  ') : 'no link')
      + (status.storeFailure ? ` · ⚠ NOT RECORDING: ${status.storeFailure}` : '');
    $('status').classList.toggle('bad', !!status.storeFailure);
    $('committed').textContent = `${status.committedCursor.toLocaleString()} samples stored`;
    const warning = status.links.map((l) => l.health?.adapterWarning).find((w) => !!w);
    $('status').title = warning ?? '';
    if (status.session && status.session.id !== recordingId) {
      recordingId = status.session.id;
      sessions.current = await backend.session(status.session.id);
      if (!shown?.replay) await show(sessions.current, false);
    }
    renderRecordButton();
    // A live session gains channels as drives first report.
    if (shown && !shown.replay) await loadChannels();
  });
  every(100, async () => {
    drives = await backend.drives();
    refreshDrives();
  });
  every(500, () => journal.refresh());
  // Stops the supervisor or a link made stay on screen until acknowledged.
  const stops = new StopBanner($('stops'), backend, Date.now() - 1000);
  every(500, () => stops.refresh());
  // Heartbeats tell the supervisor someone is watching; they stop if this page hangs or
  // dies, not when the window is hidden (heartbeat.ts).
  const heartbeat = startHeartbeat(() => backend.heartbeat(), heartbeatWorker());
  html.dataset.heartbeat = heartbeat.clock;
  // An armed fault trigger watches the session's faults.
  every(250, async () => {
    if (!shown || shown.replay || feed.trigger?.spec.kind !== 'fault' || feed.trigger.firedAt !== null) return;
    for (const fault of await backend.faults(shown.session)) feed.fault(fault.raisedS);
  });

  let inFlight = false;
  const run = (req: FeedRequest): Promise<TailBatch> =>
    req.kind === 'tail'
      ? backend.tail(req.session, req.cursor, req.channels, req.sinceS)
      : backend.window(req.session, req.channels, req.fromS, req.toS, req.widthPx);
  // At most sixty draws a second: WebKit without compositing runs animation frames
  // faster than a display shows them (73 a second under Xvfb), and a draw no one sees
  // is main-thread time taken from everything else.
  const DRAW_MS = 1000 / 60;
  let nextDrawAt = 0;
  const frame = (now: number) => {
    requestAnimationFrame(frame);
    if (!inFlight) {
      const req = feed.request(chart.widthPx());
      if (req) {
        inFlight = true;
        run(req)
          .then((batch) => feed.accept(req, batch))
          .catch((e) => {
            feed.failed(req);
            console.warn(`${req.kind} failed`, e);
          })
          .finally(() => (inFlight = false));
      }
    }
    // 2 ms of slack: frames of a 60 Hz display come every 16.7 ms, give or take.
    if (feed.dirty && now >= nextDrawAt - 2) {
      nextDrawAt = Math.max(nextDrawAt + DRAW_MS, now - DRAW_MS);
      feed.dirty = false;
      draw();
    }
  };
  requestAnimationFrame(frame);

  // --- Keyboard -------------------------------------------------------------------------
  const help = $('help');
  const shortcuts: Shortcut[] = [
    { keys: 'Esc', what: 'E-stop: stop every drive (works everywhere, also in fields)' },
    { keys: '?', what: 'this help', run: () => (help.hidden = !help.hidden) },
    { keys: 'Space', what: 'pause / resume the chart (recording goes on)', run: togglePause },
    { keys: 'l', what: 'follow the live edge / back to live', run: () => (shown?.replay ? void backToLive() : feed.follow()) },
    { keys: '+ -', what: 'zoom the chart in / out' },
    { keys: '← →', what: 'pan the chart' },
    { keys: 'a', what: 'autoscale on / off', run: () => setAutoscale(!chart.autoscale) },
    { keys: '1 2', what: 'put cursor A / B where the mouse is' },
    { keys: 'c', what: 'clear the cursors', run: clearCursors },
    { keys: 'k', what: 'arm / disarm the trigger', run: toggleTrigger },
    { keys: 'r', what: 'record a named session / edit or stop it', run: () => sessions.openRecord() },
    { keys: 's', what: 'sessions: browse, search, replay', run: () => void sessions.openBrowser() },
    { keys: 'e', what: 'export what the chart shows', run: exportRange },
    { keys: 'u', what: 'tuning: test the selected drive (step, chirp, PRBS…), Bode, metrics, runs', run: toggleTuning },
    { keys: 't', what: 'theme: system / dark / light', run: cycleTheme },
    { keys: 'f', what: 'chart only: hide the drives, controls and journal / show them again', run: toggleChartOnly },
  ];
  $('help-keys').innerHTML = shortcutsHtml(shortcuts);
  $('help-btn').addEventListener('click', () => (help.hidden = !help.hidden));
  $('help-close').addEventListener('click', () => (help.hidden = true));
  const bindings = new Map<string, () => void>(shortcuts.filter((s) => s.run).map((s) => [s.keys, s.run!]));
  bindings.set('End', () => feed.follow());
  bindings.set('+', () => feed.zoomBy(0.5));
  bindings.set('=', () => feed.zoomBy(0.5));
  bindings.set('-', () => feed.zoomBy(2));
  bindings.set('ArrowLeft', () => feed.panBy(-0.2));
  bindings.set('ArrowRight', () => feed.panBy(0.2));
  bindings.set('1', () => { if (hoverT !== null) { cursors = { ...cursors, a: hoverT }; feed.dirty = true; } });
  bindings.set('2', () => { if (hoverT !== null) { cursors = { ...cursors, b: hoverT }; feed.dirty = true; } });
  installShortcuts(document, bindings);
  html.dataset.ready = 'true';
}

if (document.getElementById('app')) void start();

