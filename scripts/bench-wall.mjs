#!/usr/bin/env node
// The wall's cost in one tab of headless Chromium (driven by
// scripts/bench-wall.sh): opens /wall with TILES streams, waits until every
// tile plays, then samples every tile for SECONDS. Prints one line:
//   wall tiles=N seconds=S realtime=R browser_cpu_pct=... per_tile_cpu_pct=...
//        mirror_cpu_pct=... egress_kbit_s=... dropped_pct=... stalls_first_half=...
//        stalls_second_half=... latency_p50_ms=... latency_p95_ms=... jumps=... restarts=...
// (restarts: players started again in the window, after an error.)
// realtime: the media time every tile played over the wall time (1.0 is
// real time); CPU in percent of one core over the window.
//
//   node scripts/bench-wall.mjs --page URL --tiles N --seconds S --mirror-pid PID [--spki HASH] [--shot FILE]
import { readFileSync, readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { chromiumPath } from '../tests/browser/play.mjs';

const { values } = parseArgs({
  options: {
    page: { type: 'string' },
    tiles: { type: 'string', default: '25' },
    seconds: { type: 'string', default: '600' },
    'mirror-pid': { type: 'string' },
    spki: { type: 'string' },
    shot: { type: 'string' },
  },
});
const tiles = Number(values.tiles);
const seconds = Number(values.seconds);
const HZ = 100; // USER_HZ on Linux

// CPU ticks (user + system) of a process, and of all its descendants.
function ticks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}
function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return 0;
  }
}
function descendants(root) {
  const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const parent = new Map(pids.map((p) => [p, parentOf(p)]));
  const out = [];
  for (const p of pids) {
    for (let q = parent.get(p); q; q = parent.get(q)) {
      if (q === root) {
        out.push(p);
        break;
      }
    }
  }
  return out;
}
// Ticks of the browser's processes now; a process that ended in the window
// is missed (Chromium keeps its processes for the life of the tab).
const browserTicks = (pids) => pids.reduce((sum, p) => sum + ticks(p), 0);

const args = ['--autoplay-policy=no-user-gesture-required', '--no-sandbox',
  ...(process.env.BENCH_CHROMIUM_FLAGS || '').split(' ').filter(Boolean)];
const [width, height] = (process.env.VIEWPORT || '1920x1080').split('x').map(Number);
if (values.spki) args.push(`--ignore-certificate-errors-spki-list=${values.spki}`);
const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args });
try {
  const page = await (await browser.newContext({ viewport: { width, height } })).newPage();
  // Bytes the page received over HTTP (playlists, parts, thumbnails).
  await page.addInitScript(() => {
    window.benchBytes = 0;
    window.benchKinds = {};
    performance.setResourceTimingBufferSize(1000);
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const n = e.transferSize || e.encodedBodySize || 0;
        window.benchBytes += n;
        const kind = /\.m3u8/.test(e.name) ? 'playlist' : /part-/.test(e.name) ? 'part' : /seg-/.test(e.name) ? 'segment' : 'other';
        const k = window.benchKinds[kind] || (window.benchKinds[kind] = { n: 0, bytes: 0 });
        k.n += 1;
        k.bytes += n;
      }
      performance.clearResourceTimings();
    }).observe({ type: 'resource', buffered: true });
  });
  const snap = () => page.evaluate(() => ({ ...window.mirrorWall.snapshot(), bytes: window.benchBytes, kinds: JSON.parse(JSON.stringify(window.benchKinds)) }));
  await page.goto(values.page);
  const startDeadline = Date.now() + 120000;
  let s;
  for (;;) {
    s = await snap();
    if (s.tiles.filter((t) => t.playing).length === tiles) break;
    if (Date.now() > startDeadline) throw new Error(`only ${s.tiles.filter((t) => t.playing).length} of ${tiles} tiles play`);
    await page.waitForTimeout(1000);
  }
  await page.waitForTimeout(5000);

  const pids = descendants(process.pid);
  const first = await snap();
  const t0 = Date.now();
  const b0 = browserTicks(pids);
  const m0 = ticks(Number(values['mirror-pid']));
  const latencies = [];
  let middle = null;
  while (Date.now() - t0 < seconds * 1000) {
    await page.waitForTimeout(5000);
    const x = await snap();
    for (const t of x.tiles) if (typeof t.latencyMs === 'number') latencies.push(t.latencyMs);
    if (!middle && Date.now() - t0 >= (seconds * 1000) / 2) middle = x;
  }
  const last = await snap();
  const elapsed = (Date.now() - t0) / 1000;
  const b1 = browserTicks(pids);
  const m1 = ticks(Number(values['mirror-pid']));
  if (values.shot) await page.screenshot({ path: values.shot });

  const sum = (x, f) => x.tiles.reduce((a, t) => a + (f(t) || 0), 0);
  const played = sum(last, (t) => t.currentTime) - sum(first, (t) => t.currentTime);
  const frames = sum(last, (t) => t.totalFrames) - sum(first, (t) => t.totalFrames);
  const dropped = sum(last, (t) => t.droppedFrames) - sum(first, (t) => t.droppedFrames);
  const mid = middle || last;
  latencies.sort((a, b) => a - b);
  const q = (p) => (latencies.length ? Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]) : -1);
  const browserCpu = (100 * (b1 - b0)) / HZ / elapsed;
  const fields = {
    tiles,
    seconds: elapsed.toFixed(0),
    protocol: last.protocol,
    realtime: (played / (tiles * elapsed)).toFixed(3),
    browser_cpu_pct: browserCpu.toFixed(1),
    per_tile_cpu_pct: (browserCpu / tiles).toFixed(2),
    mirror_cpu_pct: ((100 * (m1 - m0)) / HZ / elapsed).toFixed(1),
    egress_kbit_s: ((8 * (last.bytes - first.bytes)) / elapsed / 1000).toFixed(0),
    dropped_pct: frames > 0 ? ((100 * dropped) / frames).toFixed(2) : 'n/a',
    stalls_first_half: sum(mid, (t) => t.stalls) - sum(first, (t) => t.stalls),
    stalls_second_half: sum(last, (t) => t.stalls) - sum(mid, (t) => t.stalls),
    latency_p50_ms: q(0.5),
    latency_p95_ms: q(0.95),
    jumps: sum(last, (t) => t.jumps) - sum(first, (t) => t.jumps),
    restarts: sum(last, (t) => t.starts) - sum(first, (t) => t.starts),
  };
  if (process.env.BENCH_DETAIL) process.stderr.write(`${JSON.stringify({ first: first.kinds, last: last.kinds })}\n`);
  process.stdout.write(`wall ${Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
} finally {
  await browser.close();
}
