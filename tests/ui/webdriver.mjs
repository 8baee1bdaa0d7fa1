// A small W3C WebDriver client over fetch, and a launcher for WebKitWebDriver with the
// DriveDeck binary as its "browser". The protocol is a handful of HTTP calls; Node has
// fetch built in, so no client library (and its browser downloads) is needed.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, writeFileSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'; // the W3C web element identifier
export const KEY = { Escape: '\uE00C', Enter: '\uE007', Shift: '\uE008' };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The processes of process group `pgid` still alive (zombies excluded). */
function groupMembers(pgid) {
  const members = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state, ppid, pgrp, …
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') members.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return members;
}

function signalGroup(pgid, signal) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes; throws with `what`. */
export async function until(what, fn, timeoutMs = 10_000, everyMs = 100) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  async cmd(method, path, body) {
    const res = await fetch(`${this.base}/session/${this.id}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok || (json.value && json.value.error)) {
      throw new Error(`${method} ${path}: ${json.value?.error}: ${json.value?.message}`);
    }
    return json.value;
  }

  exec(script, ...args) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }

  async find(css) {
    const el = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return el[ELEMENT];
  }

  async findAll(css) {
    const els = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return els.map((e) => e[ELEMENT]);
  }

  async click(css) {
    await this.cmd('POST', `/element/${await this.find(css)}/click`, {});
  }

  async type(css, text) {
    const el = await this.find(css);
    await this.cmd('POST', `/element/${el}/clear`, {});
    // WebKitWebDriver refuses an empty text; clearing already typed "nothing".
    if (text !== '') await this.cmd('POST', `/element/${el}/value`, { text });
  }

  async keys(css, text) {
    await this.cmd('POST', `/element/${await this.find(css)}/value`, { text });
  }

  async text(css) {
    return this.cmd('GET', `/element/${await this.find(css)}/text`);
  }

  /**
   * What a reader sees of the element `css` (its innerText; '' when there is none).
   * Read shown text through this, not `text`: WebKitWebDriver's element text comes back
   * empty for some layouts (the status bar's spans), innerText never does. The window
   * tests and the install test both read through here, so they cannot drift apart.
   */
  async shown(css) {
    const text = await this.exec('const el = document.querySelector(arguments[0]); return el ? el.innerText : null;', css);
    if (text === null) throw new Error(`no element ${css}`);
    return String(text);
  }

  async attr(css, name) {
    return this.cmd('GET', `/element/${await this.find(css)}/attribute/${name}`);
  }

  /** Presses (down = true) or releases the mouse button over `css`. */
  async press(css, down) {
    const origin = { [ELEMENT]: await this.find(css) };
    const actions = down
      ? [{ type: 'pointerMove', origin, x: 0, y: 0 }, { type: 'pointerDown', button: 0 }]
      : [{ type: 'pointerUp', button: 0 }];
    await this.cmd('POST', '/actions', {
      actions: [{ type: 'pointer', id: 'mouse', parameters: { pointerType: 'mouse' }, actions }],
    });
  }

  /** Drags with the left button from `start` (px from the element's centre) by (dx, dy). */
  async drag(css, dx, dy, start = { x: 0, y: 0 }) {
    const origin = { [ELEMENT]: await this.find(css) };
    const half = (v) => Math.round(v / 2);
    await this.cmd('POST', '/actions', {
      actions: [{
        type: 'pointer', id: 'mouse', parameters: { pointerType: 'mouse' },
        actions: [
          { type: 'pointerMove', origin, x: start.x, y: start.y },
          { type: 'pointerDown', button: 0 },
          { type: 'pointerMove', origin: 'pointer', x: half(dx), y: half(dy), duration: 100 },
          { type: 'pointerMove', origin: 'pointer', x: dx - half(dx), y: dy - half(dy), duration: 100 },
          { type: 'pointerUp', button: 0 },
        ],
      }],
    });
  }

  /** Clicks at `at` (px from the element's centre), holding Shift when `shift`. */
  async clickAt(css, at, { shift = false } = {}) {
    const origin = { [ELEMENT]: await this.find(css) };
    const pause = { type: 'pause' };
    await this.cmd('POST', '/actions', {
      actions: [
        {
          type: 'key', id: 'keyboard',
          actions: shift
            ? [{ type: 'keyDown', value: KEY.Shift }, pause, pause, { type: 'keyUp', value: KEY.Shift }]
            : [pause, pause, pause, pause],
        },
        {
          type: 'pointer', id: 'mouse', parameters: { pointerType: 'mouse' },
          actions: [{ type: 'pointerMove', origin, x: at.x, y: at.y }, { type: 'pointerDown', button: 0 }, { type: 'pointerUp', button: 0 }, pause],
        },
      ],
    });
  }

  /** Types `text` on the keyboard wherever the focus is. */
  async keyboard(text) {
    const actions = [...text].flatMap((c) => [{ type: 'keyDown', value: c }, { type: 'keyUp', value: c }]);
    await this.cmd('POST', '/actions', { actions: [{ type: 'key', id: 'keyboard', actions }] });
  }

  async screenshot(file) {
    const b64 = await this.cmd('GET', '/screenshot');
    writeFileSync(file, Buffer.from(b64, 'base64'));
  }
}

/** What the app keeps in its settings file (tauri-plugin-store) under `dataDir`, or null
 * while there is none (or it is being written). */
export function readSettings(dataDir) {
  try {
    return JSON.parse(readFileSync(join(dataDir, 'data', 'dev.drivedeck.DriveDeck', 'settings.json'), 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Starts WebKitWebDriver and, through it, the DriveDeck binary on a fresh database and
 * fresh settings folder (or `dataDir`, to reopen one), with `args` after `--db FILE`.
 * Returns { session, close, dataDir, logFile, processes }; `close` ends the driver, the
 * app and WebKit's processes; `processes()` lists them (pid and command name).
 */
export async function launchApp({ app, dataDir, args = [] } = {}) {
  const binary = app ?? process.env.DRIVEDECK_APP;
  if (!binary) throw new Error('set DRIVEDECK_APP to the drivedeck binary');
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'drivedeck-e2e-'));
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'config'), { recursive: true });
  const port = await freePort();
  // The driver leads its own process group, which the app and WebKit's processes join:
  // closing ends the whole group. Their output goes to a log file, not to this test
  // process's stdout: a pipe to node's test runner held open by a lingering app would keep
  // the run waiting for it.
  const logFile = join(dir, `app-${port}.log`);
  const log = openSync(logFile, 'a');
  const driver = spawn('/usr/bin/WebKitWebDriver', [`--port=${port}`], {
    detached: true,
    env: {
      ...process.env,
      TAURI_WEBVIEW_AUTOMATION: 'true',
      LANG: 'en_US.UTF-8',
      LC_ALL: 'en_US.UTF-8',
      XDG_DATA_HOME: join(dir, 'data'),
      XDG_CONFIG_HOME: join(dir, 'config'),
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const group = driver.pid;
  /** Ends the driver and everything it started: politely, then after `graceMs` by force. */
  const end = async (graceMs) => {
    signalGroup(group, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (groupMembers(group).length > 0 && Date.now() < deadline) await sleep(50);
    signalGroup(group, 'SIGKILL');
  };
  const base = `http://127.0.0.1:${port}`;
  try {
    await until('WebKitWebDriver to listen', async () => {
      const res = await fetch(`${base}/status`);
      return res.ok;
    }, 15_000);
    const res = await fetch(`${base}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        capabilities: {
          alwaysMatch: {
            'webkitgtk:browserOptions': { binary, args: ['--db', join(dir, 'e2e.db'), ...args] },
          },
        },
      }),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`new session: ${JSON.stringify(json)}`);
    const session = new Session(base, json.value.sessionId);
    await until('the page to load', async () => (await session.exec('return document.readyState')) === 'complete', 30_000);
    let closed = null;
    const close = () => (closed ??= closeOnce());
    const closeOnce = async () => {
      try {
        // Bounded: a driver waiting on a busy app must not hold the test run open.
        await fetch(`${base}/session/${session.id}`, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
        // The window closed; the app saves and exits on its own (a restart test reopens
        // the same data folder, so it must not be cut short while it has time).
        const deadline = Date.now() + 5000;
        while (groupMembers(group).filter((pid) => pid !== group).length > 0 && Date.now() < deadline) await sleep(50);
      } finally {
        await end(2000);
      }
    };
    const processes = () => groupMembers(group).map((pid) => {
      try {
        return { pid, name: readFileSync(`/proc/${pid}/comm`, 'utf8').trim() };
      } catch {
        return { pid, name: '' };
      }
    });
    return { session, close, dataDir: dir, logFile, processes };
  } catch (e) {
    await end(2000);
    throw new Error(`${e.message} (driver and app log: ${logFile})`);
  }
}
