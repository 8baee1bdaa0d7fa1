// Idle memory of the whole DriveDeck app (every process: the app and WebKit's web and
// network processes) on the simulated rig, against a hello-world Tauri app built on the
// same machine with the same Tauri and the same release profile. Run by
// `cargo xtask bench-ui` under Xvfb; prints figures, asserts nothing.
//
//   node tests/ui/footprint.mjs APP_BINARY HELLO_BINARY
//
// Memory is PSS (proportional set size: shared pages split between the processes that
// map them), summed over the process tree, sampled after the app has settled. Each app
// is measured as it starts by itself, then both with and both without WebKit's OpenGL
// compositing, which is most of the difference on a machine without a GPU.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [app, hello] = process.argv.slice(2);
if (!app || !hello) {
  console.error('usage: node tests/ui/footprint.mjs APP_BINARY HELLO_BINARY');
  process.exit(2);
}
const SETTLE_MS = 8000;
const SAMPLES = 5;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Every live process: pid → parent pid. */
function parents() {
  const map = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may hold spaces: the fields after its closing parenthesis.
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      map.set(Number(entry), Number(rest[1]));
    } catch {
      // gone meanwhile
    }
  }
  return map;
}

function tree(root) {
  const map = parents();
  const pids = [root];
  for (let i = 0; i < pids.length; i++) {
    for (const [pid, ppid] of map) if (ppid === pids[i]) pids.push(pid);
  }
  return pids;
}

function kb(pid, field) {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const line = text.split('\n').find((l) => l.startsWith(`${field}:`));
    return line ? Number(line.split(/\s+/)[1]) : 0;
  } catch {
    return 0;
  }
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function measure(name, binary, env = {}) {
  const home = mkdtempSync(join(tmpdir(), 'footprint-'));
  const child = spawn(binary, [], {
    env: { ...process.env, HOME: home, XDG_DATA_HOME: join(home, 'data'), LANG: 'en_US.UTF-8', ...env },
    stdio: 'ignore',
  });
  await sleep(SETTLE_MS);
  if (child.exitCode !== null) throw new Error(`${name} exited early (${child.exitCode})`);
  const pss = [];
  const rss = [];
  let processes = 0;
  for (let i = 0; i < SAMPLES; i++) {
    const pids = tree(child.pid);
    processes = pids.length;
    pss.push(pids.reduce((sum, pid) => sum + kb(pid, 'Pss'), 0));
    rss.push(pids.reduce((sum, pid) => sum + kb(pid, 'Rss'), 0));
    await sleep(1000);
  }
  for (const pid of tree(child.pid).reverse()) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await sleep(500);
  rmSync(home, { recursive: true, force: true });
  return { name, processes, pssMb: median(pss) / 1024, rssMb: median(rss) / 1024 };
}

// As each starts by itself (the hello world composites with OpenGL, WebKit's default;
// DriveDeck does not on a machine without a GPU render node, see
// src-tauri/src/render.rs); then DriveDeck with compositing, then both without.
const OFF = { WEBKIT_DISABLE_COMPOSITING_MODE: '1' };
const runs = [
  ['hello-world Tauri', hello, {}],
  ['DriveDeck on the simulated rig', app, {}],
  ['DriveDeck, compositing on (DRIVEDECK_COMPOSITING=on)', app, { DRIVEDECK_COMPOSITING: 'on' }],
  ['hello-world Tauri, compositing off', hello, OFF],
  ['DriveDeck, compositing off', app, OFF],
];
const results = [];
for (const [name, binary, env] of runs) results.push(await measure(name, binary, env));
console.log('idle memory after %d s, median of %d samples, whole process tree:', SETTLE_MS / 1000, SAMPLES);
console.log('| app | processes | PSS | RSS |');
console.log('| --- | --- | --- | --- |');
for (const r of results) {
  console.log(`| ${r.name} | ${r.processes} | ${r.pssMb.toFixed(1)} MB | ${r.rssMb.toFixed(1)} MB |`);
}
const ratio = (ours, base) => (results[ours].pssMb / results[base].pssMb).toFixed(2);
console.log(`ratio (PSS), each as it starts: ${ratio(1, 0)}× (goal ≤ 1.3×)`);
console.log(`ratio (PSS), both compositing: ${ratio(2, 0)}×; neither: ${ratio(4, 3)}×`);
