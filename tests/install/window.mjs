// Opens an installed DriveDeck the way a user does — no arguments, the user's own data
// folder — through WebKitWebDriver under the current X display, and checks that the
// window shows the simulated rig (drive cards, a pty in the status bar). Also times the
// start: from the request that makes WebKitWebDriver start the binary until
//   - first paint: the webview's own First Contentful Paint (Paint Timing API), and
//   - main screen: the page loaded with at least one drive card in #drive-list
//     (polled every 5 ms).
//
// usage: node tests/install/window.mjs --app /usr/bin/drivedeck --home DIR
//          [--root DIR] [--runs N] [--fresh] [--shot FILE]
//   --home   HOME for the app (XDG_* variables are removed, so the defaults apply)
//   --root   run WebKitWebDriver, and so the app, in this chroot (--app and --home are
//            paths inside it)
//   --runs   start the app N times and print the median (default 1)
//   --fresh  give each run a new empty HOME under DIR (a first start every time)
// Prints one JSON line per run and a summary; exits non-zero if any check fails.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Session, until } from '../ui/webdriver.mjs';

function options(argv) {
  const opts = { runs: 1, fresh: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--fresh') opts.fresh = true;
    else if (['--app', '--home', '--root', '--runs', '--shot'].includes(flag) && i + 1 < argv.length) {
      opts[flag.slice(2)] = argv[++i];
    } else throw new Error(`unexpected argument ${JSON.stringify(flag)}`);
  }
  if (!opts.app || !opts.home) throw new Error('--app and --home are required');
  opts.runs = Number(opts.runs);
  if (!Number.isInteger(opts.runs) || opts.runs < 1) throw new Error('--runs takes a count');
  return opts;
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The processes `pid` started (Linux /proc). */
function childrenOf(pid) {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

/** Whether `pid` still runs (a zombie counts as ended). */
function running(pid) {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Ends the apps WebKitWebDriver started: closing the session does not end the app
 * process, which would otherwise stay on the X server. SIGTERM, then SIGKILL after 5 s.
 */
async function endApps(pids) {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {}
  }
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && pids.some(running)) await sleep(50);
  for (const pid of pids.filter(running)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
}

/** One start of the app with HOME=home: checks the window, returns the timings (ms). */
async function startOnce(app, home, shot, root) {
  mkdirSync(root ? join(root, home) : home, { recursive: true });
  const env = { ...process.env, HOME: home, TAURI_WEBVIEW_AUTOMATION: 'true', RUST_LOG: 'warn' };
  for (const key of ['XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'XDG_STATE_HOME']) {
    delete env[key];
  }
  const port = await freePort();
  const [command, ...args] = root
    ? ['chroot', root, '/usr/bin/WebKitWebDriver', `--port=${port}`]
    : ['/usr/bin/WebKitWebDriver', `--port=${port}`];
  const driver = spawn(command, args, {
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  let session;
  try {
    await until('WebKitWebDriver to listen', async () => (await fetch(`${base}/status`)).ok, 15_000, 20);
    const t0 = Date.now();
    const res = await fetch(`${base}/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: app, args: [] } } },
      }),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`new session: ${JSON.stringify(json)}`);
    session = new Session(base, json.value.sessionId);
    const sessionMs = Date.now() - t0;
    const probe = `return {
      ready: document.readyState,
      drives: document.querySelectorAll('#drive-list .drive').length,
      origin: performance.timeOrigin,
      fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime ?? null,
    }`;
    const seen = await until(
      'the main screen with a drive card',
      async () => {
        const state = await session.exec(probe);
        return state.ready === 'complete' && state.drives > 0 ? { ...state, at: Date.now() } : null;
      },
      30_000,
      5,
    );
    // Both simulated drives, and the status bar names the rig's pty.
    await until('both simulated drives', async () => (await session.findAll('#drive-list .drive')).length === 2, 10_000);
    const status = await until('the link in the status bar', async () => {
      const text = await session.shown('#status');
      return /\/dev\/pts\/\d+/.test(text) ? text : null;
    }, 10_000);
    if (shot) {
      await sleep(1000); // let the compositor catch up with the DOM before the picture
      await session.screenshot(shot);
    }
    return {
      home,
      sessionMs,
      firstPaintMs: seen.fcp === null ? null : Math.round(seen.origin + seen.fcp - t0),
      mainScreenMs: seen.at - t0,
      status,
    };
  } finally {
    const apps = childrenOf(driver.pid);
    if (session) await fetch(`${base}/session/${session.id}`, { method: 'DELETE' }).catch(() => {});
    await endApps(apps);
    driver.kill('SIGTERM');
    await sleep(300);
  }
}

const median = (values) => {
  const sorted = values.filter((v) => v !== null).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const opts = options(process.argv.slice(2));
const runs = [];
for (let i = 0; i < opts.runs; i++) {
  const home = opts.fresh ? join(opts.home, `run-${i + 1}`) : opts.home;
  const run = await startOnce(opts.app, home, i === 0 ? opts.shot : undefined, opts.root);
  console.log(JSON.stringify({ run: i + 1, ...run }));
  runs.push(run);
}
console.log(
  `startup of ${opts.app}, median of ${runs.length}: first paint ${median(runs.map((r) => r.firstPaintMs))} ms, ` +
    `main screen with drives ${median(runs.map((r) => r.mainScreenMs))} ms`,
);
