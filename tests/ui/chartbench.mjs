// The live chart's cost in the real window: 8 channels streaming at 1 kHz each, 10 s on
// screen. Run by `cargo xtask bench-ui` under Xvfb; prints figures, asserts nothing.
//
//   node tests/ui/chartbench.mjs APP_BINARY [SECONDS]
//
// The data takes the app's real path: a simulated rig of four XM430 drives on a pty
// (Return Delay Time set to 0 through the Parameters job), polled by the link actor at
// 1 kHz (`--poll-hz 1000`, one Sync Read of the four each millisecond), decoded, written
// to the store, tailed by the page as binary batches and drawn by uPlot: position and
// velocity of each drive, two stacked panels of four series. The drives turn at
// different speeds (velocity mode) so the lines are not flat.
//
// What is measured, over SECONDS (default 10) once the 10 s window is full:
// - frames per second: requestAnimationFrame callbacks (WebKit runs them once per
//   rendering update, at most 60 a second); and chart redraws per second (draws that
//   moved the live edge, seen as changes of the chart's data-range attribute).
// - main-thread busy: CPU time of the web process's main thread (/proc/PID/task/PID/stat,
//   utime + stime) over the wall time. Everything the page does runs there: decoding the
//   batches, the feed, uPlot, style, layout, painting; time it spends waiting for the
//   next frame or for IPC is not counted. On a loaded machine a runnable thread may also
//   wait for a core, which this does not count either: run it on a quiet machine.
// - time per rendering update: from the frame's start (the rAF timestamp) to a message
//   posted from a rAF callback, which runs once the update (every rAF callback, then
//   style, layout and paint) is done. p50 / p95 / max, and its sum over the wall time.
// - PerformanceObserver 'longtask' is used too when the webview supports it (WebKitGTK
//   says whether in PerformanceObserver.supportedEntryTypes).
// - where the web process's CPU goes, by thread. Under Xvfb there is no GPU: WebKit
//   composites the page with OpenGL emulated on the CPU (Mesa llvmpipe threads).
//   `cargo xtask bench-ui` runs it with compositing on and off (DRIVEDECK_COMPOSITING):
//   off, the main thread paints the window itself, without OpenGL.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchApp, until } from './webdriver.mjs';

const [app, secondsArg] = process.argv.slice(2);
if (!app) {
  console.error('usage: node tests/ui/chartbench.mjs APP_BINARY [SECONDS]');
  process.exit(2);
}
const SECONDS = Number(secondsArg ?? 10);
const DRIVES = [1, 2, 3, 4];
const POLL_HZ = 1000;
const WINDOW_S = 10;
const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds (user + system) of a process, or of one of its threads. */
function cpuSeconds(pid, tid) {
  const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: state is field 3 of the full line, utime 14 and stime 15.
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

const percentile = (sorted, p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]);

// The settings the app starts from: the rig's four drives, the chart's eight channels.
const dataDir = mkdtempSync(join(tmpdir(), 'drivedeck-chartbench-'));
const folder = join(dataDir, 'data', 'dev.drivedeck.DriveDeck');
mkdirSync(folder, { recursive: true });
const drive = (id) => ({ link: 1, id });
writeFileSync(join(folder, 'settings.json'), JSON.stringify({
  lastConnection: { kind: 'sim', protocol: 'dynamixel2', ids: DRIVES },
  chart: {
    windowSeconds: WINDOW_S,
    channels: DRIVES.flatMap((id) => [{ drive: drive(id), name: 'position' }, { drive: drive(id), name: 'velocity' }]),
  },
}));

const launched = await launchApp({ app, dataDir, args: ['--poll-hz', String(POLL_HZ)] });
const s = launched.session;
const invoke = (cmd, args) => s.exec('return window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])', cmd, args);
try {
  await until('the rig’s four drives', async () => (await s.findAll('#drive-list .drive')).length === DRIVES.length, 30_000);
  await until('two panels of four series', async () =>
    (await s.exec("return [...document.querySelectorAll('#chart .panel-plot')].map((p) => p.dataset.unit + p.querySelectorAll('.u-series').length).join()")) === '°5,rpm5', 20_000);
  // Turn the drives (velocity mode, different speeds): arm + enable as the UI would.
  // Return Delay Time 0 first, as for any fast poll: at the factory 500 µs the four
  // drives' answers to one Sync Read take over 2 ms.
  for (const id of DRIVES) {
    for (const command of [
      { kind: 'writeParams', drive: drive(id), values: [['Return Delay Time', 0]] },
      { kind: 'setMode', drive: drive(id), mode: 'velocity' },
      { kind: 'arm', drive: drive(id) },
      { kind: 'enable', drive: drive(id) },
      { kind: 'setTarget', drive: drive(id), target: { velocity: 0.6 + 0.7 * id } },
    ]) await invoke('submit', { command });
  }
  await until('drives turning', async () => {
    const drives = await invoke('drives', {});
    return drives.every((d) => d.enabled && Math.abs(d.velocity ?? 0) > 0.5);
  }, 15_000);
  // The window full: the live edge past 10 s and 10 s of points on screen.
  await until('a full 10 s window', async () => {
    const range = String(await s.exec("return document.getElementById('chart').dataset.range")).split(',').map(Number);
    return range.length === 2 && range[0] > 1;
  }, 40_000, 250);

  const supported = await s.exec("return typeof PerformanceObserver === 'undefined' ? [] : (PerformanceObserver.supportedEntryTypes ?? [])");
  await s.exec(`
    const b = { frames: 0, redraws: 0, updates: [], longTasks: [], running: false };
    const channel = new MessageChannel();
    let frameStart = 0;
    channel.port1.onmessage = () => { if (b.running) b.updates.push(performance.now() - frameStart); };
    const tick = (ts) => {
      if (!b.running) return;
      b.frames++;
      frameStart = ts;
      channel.port2.postMessage(0);
      requestAnimationFrame(tick);
    };
    new MutationObserver(() => { if (b.running) b.redraws++; })
      .observe(document.getElementById('chart'), { attributes: true, attributeFilter: ['data-range'] });
    if ((PerformanceObserver.supportedEntryTypes ?? []).includes('longtask')) {
      new PerformanceObserver((list) => { if (b.running) for (const e of list.getEntries()) b.longTasks.push(e.duration); })
        .observe({ entryTypes: ['longtask'] });
    }
    b.start = () => { b.running = true; b.t0 = performance.now(); requestAnimationFrame(tick); };
    b.stop = () => { b.running = false; b.t1 = performance.now(); };
    window.__chartBench = b;`);

  const procs = launched.processes();
  const web = procs.find((p) => p.name.startsWith('WebKitWebProc'));
  const shell = procs.find((p) => p.name === 'drivedeck');
  if (!web || !shell) throw new Error(`web or app process not found: ${JSON.stringify(procs)}`);
  const threads = () => new Map(readdirSync(`/proc/${web.pid}/task`).map((tid) => {
    try {
      return [tid, { name: readFileSync(`/proc/${web.pid}/task/${tid}/comm`, 'utf8').trim(), s: cpuSeconds(web.pid, tid) }];
    } catch {
      return [tid, { name: '?', s: 0 }];
    }
  }));
  const cpu = () => ({ main: cpuSeconds(web.pid, web.pid), web: cpuSeconds(web.pid), app: cpuSeconds(shell.pid), threads: threads(), at: process.hrtime.bigint() });
  const pointsBefore = Number(await s.exec("return document.getElementById('chart').dataset.points"));
  const before = cpu();
  await s.exec('window.__chartBench.start()');
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  await s.exec('window.__chartBench.stop()');
  const after = cpu();
  const b = await s.exec('const b = window.__chartBench; return { frames: b.frames, redraws: b.redraws, updates: b.updates, longTasks: b.longTasks, ms: b.t1 - b.t0 }');
  const status = await invoke('app_status', {});
  const points = Number(await s.exec("return document.getElementById('chart').dataset.points"));
  await s.screenshot(join(dataDir, 'chartbench.png'));

  const wall = Number(after.at - before.at) / 1e9;
  const updates = [...b.updates].sort((x, y) => x - y);
  const busy = (key) => (100 * (after[key] - before[key])) / wall;
  const link = status.links.find((l) => l.id === 1) ?? status.links[0];
  const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '—');
  const compositing = { on: 'on (DRIVEDECK_COMPOSITING=on)', off: 'off (DRIVEDECK_COMPOSITING=off)' }[process.env.DRIVEDECK_COMPOSITING] ?? 'as the app chose (src-tauri/src/render.rs)';
  console.log(`live chart, ${DRIVES.length * 2} channels (position + velocity of ${DRIVES.length} simulated drives) at ${POLL_HZ} Hz, ${WINDOW_S} s window, measured for ${fmt(wall)} s, compositing ${compositing}:`);
  console.log('| what | measured | goal |');
  console.log('| --- | --- | --- |');
  console.log(`| frames per second (requestAnimationFrame) | ${fmt(b.frames / (b.ms / 1000))} | 60 |`);
  console.log(`| chart redraws per second (live edge moved) | ${fmt(b.redraws / (b.ms / 1000))} | |`);
  console.log(`| main thread busy (web process main thread CPU) | ${fmt(busy('main'))} % | ≤ 15 % |`);
  console.log(`| rendering update per frame, p50 / p95 / max | ${fmt(percentile(updates, 0.5), 2)} / ${fmt(percentile(updates, 0.95), 2)} / ${fmt(updates[updates.length - 1], 2)} ms | |`);
  console.log(`| rendering updates, share of the wall time | ${fmt((100 * updates.reduce((x, y) => x + y, 0)) / b.ms)} % | |`);
  console.log(`| long tasks (> 50 ms) | ${supported.includes('longtask') ? `${b.longTasks.length}, ${fmt(b.longTasks.reduce((x, y) => x + y, 0), 0)} ms in all` : 'not supported by this WebKitGTK'} | |`);
  console.log(`| web process CPU, all threads | ${fmt(busy('web'))} % of a core | |`);
  console.log(`| app process CPU (bus, store, IPC) | ${fmt(busy('app'))} % of a core | |`);
  console.log(`| link poll rate achieved / asked | ${fmt(link?.health?.pollHz ?? NaN, 0)} / ${fmt(link?.health?.pollTargetHz ?? NaN, 0)} Hz | 1000 |`);
  console.log(`| points of one channel on screen (start, end of the run) | ${pointsBefore}, ${points} | ${POLL_HZ * WINDOW_S} |`);
  // Where the web process's CPU went, by thread name (threads of one name summed).
  const byName = new Map();
  for (const [tid, t] of after.threads) {
    const was = before.threads.get(tid)?.s ?? 0;
    const name = tid === String(web.pid) ? 'main' : t.name;
    byName.set(name, (byName.get(name) ?? 0) + t.s - was);
  }
  const top = [...byName].filter(([, sec]) => sec > 0.01 * wall).sort((x, y) => y[1] - x[1]);
  console.log(`web process threads (% of a core): ${top.map(([name, sec]) => `${name} ${fmt((100 * sec) / wall)}`).join(', ')}`);
  console.log(`(screenshot: ${join(dataDir, 'chartbench.png')}; PerformanceObserver entry types: ${supported.join(', ') || 'none'})`);
} finally {
  await launched.close();
}
