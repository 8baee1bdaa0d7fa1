// End-to-end (issue 19, items 5 and 6): a hidden window is not a hung UI, and the window
// says why the drives stopped. In the real window on the built-in simulated rig, whose
// supervisor stops every drive after 500 ms without a heartbeat while one is enabled:
//
// - hidden: the page is made hidden for 3 s and an enabled drive stays enabled. Under
//   Xvfb there is no window manager to minimise to, so the test unmaps the app's X window
//   (Xlib through python3's ctypes), which is what a minimised window is to the webview:
//   WebKit marks the page hidden (document.visibilityState) and throttles its timers.
//   Where python3 or libX11 is missing it falls back to overriding document.hidden and
//   visibilityState and dispatching visibilitychange (the page's own visibility code
//   paths, without the throttling); the test's diagnostics say which one ran.
// - hung: the page's main thread is blocked for 2.5 s (a busy loop run through WebDriver's
//   execute), and the supervisor stops every drive within its timeout;
// - a banner then names the reason and its time until acknowledged, and the journal's
//   safeStop row shows the reason in its reason column.
// Screenshots go to tests/ui/artifacts/.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchApp, until } from './webdriver.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), 'artifacts');
mkdirSync(artifacts, { recursive: true });

const drive = (id) => `#drive-list .drive[data-link="1"][data-drive-id="${id}"]`;
const number = (text) => Number.parseFloat(String(text).replace(/[^0-9.+-]/g, ''));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** The supervisor's heartbeat timeout in the app (src-tauri/src/lib.rs). */
const HEARTBEAT_TIMEOUT_MS = 500;

// Maps or unmaps every top-level X window of process `pid` (by _NET_WM_PID), through
// Xlib. Prints how many windows it changed.
const XWINDOWS = `
import ctypes, ctypes.util, sys
pid, mapped = int(sys.argv[1]), sys.argv[2] == 'map'
x = ctypes.cdll.LoadLibrary(ctypes.util.find_library('X11') or 'libX11.so.6')
x.XOpenDisplay.restype = ctypes.c_void_p
x.XOpenDisplay.argtypes = [ctypes.c_char_p]
x.XDefaultRootWindow.restype = ctypes.c_ulong
x.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
x.XInternAtom.restype = ctypes.c_ulong
x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
x.XQueryTree.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong),
                         ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)), ctypes.POINTER(ctypes.c_uint)]
x.XGetWindowProperty.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long, ctypes.c_long, ctypes.c_int,
                                 ctypes.c_ulong, ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_int),
                                 ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_ulong), ctypes.POINTER(ctypes.c_void_p)]
x.XMapWindow.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
x.XUnmapWindow.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
x.XFlush.argtypes = [ctypes.c_void_p]
x.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
d = x.XOpenDisplay(None)
if not d:
    sys.exit('no X display')
net_wm_pid = x.XInternAtom(d, b'_NET_WM_PID', 0)
root, parent, children, n = ctypes.c_ulong(), ctypes.c_ulong(), ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
x.XQueryTree(d, x.XDefaultRootWindow(d), ctypes.byref(root), ctypes.byref(parent), ctypes.byref(children), ctypes.byref(n))
changed = 0
for i in range(n.value):
    w = children[i]
    kind, fmt, count, after, data = ctypes.c_ulong(), ctypes.c_int(), ctypes.c_ulong(), ctypes.c_ulong(), ctypes.c_void_p()
    if x.XGetWindowProperty(d, w, net_wm_pid, 0, 1, 0, 0, ctypes.byref(kind), ctypes.byref(fmt), ctypes.byref(count),
                            ctypes.byref(after), ctypes.byref(data)) != 0 or count.value != 1 or not data.value:
        continue
    if ctypes.cast(data, ctypes.POINTER(ctypes.c_ulong))[0] != pid:
        continue
    (x.XMapWindow if mapped else x.XUnmapWindow)(d, w)
    changed += 1
x.XSync(d, 0)
print(changed)
`;

/** Maps (`map`) or unmaps the app's windows; the number changed, or null without Xlib. */
function xWindows(pid, how) {
  const run = spawnSync('python3', ['-c', XWINDOWS, String(pid), how], { encoding: 'utf8', timeout: 10_000 });
  if (run.status !== 0) return null;
  return Number(run.stdout.trim());
}

describe('the heartbeat of a hidden and of a hung window', () => {
  let app;
  let s;
  const state = (id) => s.attr(drive(id), 'data-state');
  /** The safeStop jobs of this run, newest first, straight from the store. */
  const safeStops = () => s.cmd('POST', '/execute/async', {
    script: `const done = arguments[arguments.length - 1];
      window.__TAURI_INTERNALS__.invoke('jobs', { query: { command: 'safeStop', limit: 10 } }).then(done, (e) => done({ error: String(e) }));`,
    args: [],
  });
  const enable = async (id) => {
    await s.click(drive(id));
    await until(`drive ${id} selected`, async () => new RegExp(`ID ${id}\\b`).test(await s.text('#selected-drive')));
    await s.click('#enable');
    await until('the arming question', async () => (await s.exec("return document.getElementById('arm-dialog').hidden")) === false);
    await s.click('#arm-confirm');
    await until(`drive ${id} enabled`, async () => (await state(id)) === 'enabled');
  };

  before(async () => {
    app = await launchApp();
    s = app.session;
    await until('two drive cards', async () => (await s.findAll('#drive-list .drive')).length === 2, 20_000);
    assert.equal(await s.exec('return document.documentElement.dataset.heartbeat'), 'worker', 'the heartbeat ticks in a worker');
    await enable(1);
    await s.type('#target', '90');
    await s.click('#move');
    await until('drive 1 at 90°', async () => Math.abs(number(await s.text(`${drive(1)} .position`)) - 90) < 2, 10_000);
  });

  after(async () => {
    await app?.close();
  });

  it('keeps an enabled drive enabled while the window is hidden for 3 s', async (t) => {
    const appPid = app.processes().find((p) => p.name === 'drivedeck')?.pid;
    assert.ok(appPid, `the app's process among ${JSON.stringify(app.processes())}`);
    const stopsBefore = (await safeStops()).length;
    const unmapped = xWindows(appPid, 'unmap');
    let how;
    try {
      if (unmapped > 0) {
        how = 'unmapped X window';
        await until('the page hidden', async () => (await s.exec('return document.visibilityState')) === 'hidden', 5_000);
      } else {
        how = 'overridden document.visibilityState';
        await s.exec(`for (const [name, value] of [['hidden', true], ['visibilityState', 'hidden']])
            Object.defineProperty(document, name, { configurable: true, get: () => value });
          document.dispatchEvent(new Event('visibilitychange'));`);
      }
      t.diagnostic(`page hidden by: ${how}`);
      // A page timer in a hidden page: counted to show what the hidden state does to timers.
      await s.exec('window.__ticks = 0; window.__tickTimer = setInterval(() => window.__ticks++, 50);');
      const hiddenAt = Date.now();
      while (Date.now() - hiddenAt < 3000) {
        assert.equal(await state(1), 'enabled', `drive 1 still enabled after ${Date.now() - hiddenAt} ms hidden`);
        await sleep(250);
      }
      const ticks = await s.exec('clearInterval(window.__tickTimer); return window.__ticks');
      t.diagnostic(`a 50 ms page timer ticked ${ticks} times in 3 s hidden (60 unthrottled)`);
      assert.equal(await s.exec('return document.visibilityState'), 'hidden', 'hidden all along');
    } finally {
      if (unmapped > 0) xWindows(appPid, 'map');
      else await s.exec('delete document.hidden; delete document.visibilityState; document.dispatchEvent(new Event("visibilitychange"));');
    }
    await until('the page visible again', async () => (await s.exec('return document.visibilityState')) === 'visible', 5_000);
    assert.equal(await state(1), 'enabled');
    assert.equal((await safeStops()).length, stopsBefore, 'no safe stop while hidden');
    assert.equal(await s.exec("return document.getElementById('stops').hidden"), true, 'no stop banner');
    await s.screenshot(join(artifacts, 'heartbeat-after-hidden.png'));
  });

  it('stops the drives within the heartbeat timeout when the page hangs for 2.5 s', async () => {
    assert.equal(await state(1), 'enabled');
    const frozeAt = await s.exec('const t0 = Date.now(); while (Date.now() - t0 < 2500) {} return t0;');
    await until('both drives disabled', async () => (await state(1)) === 'disabled' && (await state(2)) === 'disabled', 5_000);
    const [stop] = await safeStops();
    assert.ok(stop && !stop.error, `a safe stop in the store: ${JSON.stringify(stop)}`);
    const after = stop.queuedAtMs - frozeAt;
    // The last beat came at most one worker tick (100 ms) before the freeze; the watch
    // looks every timeout / 5.
    assert.ok(after >= HEARTBEAT_TIMEOUT_MS - 150 && after <= HEARTBEAT_TIMEOUT_MS + 350,
      `the safe stop ${after} ms after the freeze (timeout ${HEARTBEAT_TIMEOUT_MS} ms)`);
    assert.match(stop.state, /done/);
    // The simulated drive really stopped holding 90°: torque off and standing.
    await until('drive 1 standing still', async () => Math.abs(number(await s.text(`${drive(1)} .velocity`))) < 0.5, 10_000);
  });

  // The banner reads the reason from the journal's reason column (views/stops.ts), which
  // the backend fills on branch `setup` (see the next test): until that is merged, this
  // test fails only on its last assertion, the reason. Keep it.
  it('says why the drives stopped: a banner with the reason and time until acknowledged', async () => {
    const banner = await until('the stop banner', async () => {
      if (await s.exec("return document.getElementById('stops').hidden")) return null;
      return s.shown('#stops .stop');
    }, 5_000);
    assert.match(banner, /Drives stopped/);
    assert.match(banner, /at \d\d:\d\d:\d\d/, `its time: ${banner}`);
    await s.screenshot(join(artifacts, 'heartbeat-stop-banner.png'));
    // It stays until acknowledged, also while the user works.
    await sleep(2000);
    assert.equal(await s.exec("return document.getElementById('stops').hidden"), false, 'still shown 2 s later');
    await s.click('#stops .stop button[data-ack]');
    await until('the banner gone once acknowledged', async () => s.exec("return document.getElementById('stops').hidden"));
    await sleep(1200);
    assert.equal(await s.exec("return document.getElementById('stops').hidden"), true, 'an acknowledged stop does not come back');
    assert.match(banner, /no heartbeat from the UI for \d+ ms while a drive was enabled/, `its reason: ${banner}`);
  });

  // The journal's reason column is filled by the backend (the supervisor's reason on the
  // safeStop job). That part lands on branch `setup`; until it is merged this test fails
  // only on the empty reason column: keep the assertion.
  it("shows the reason in the journal's reason column of the safeStop row", async () => {
    const row = await until('the safeStop row in the journal', async () => s.exec(`const r = [...document.querySelectorAll('#jobs tr.job')]
        .find((tr) => tr.cells[2].textContent === 'safeStop');
      return r ? [...r.cells].map((c) => c.textContent) : null;`), 5_000);
    assert.match(row[5], /done/, `state: ${row.join(' | ')}`);
    assert.match(row[9], /no heartbeat from the UI for \d+ ms/, `reason column: ${row.join(' | ')}`);
  });
});
