// Self-test of play.mjs: ffmpeg writes a short fMP4 HLS stream, a loopback
// server serves it with fixture_page.html and hls.js, and play.mjs, run as
// a command, must report that it played, or say why it did not.
//
//   node --test tests/browser/

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { analysePlayback } from './play.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const PLAY = path.join(here, 'play.mjs');

// Runs `command` to its end; resolves to { code, stdout, stderr }.
function run(command, args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// 12 s of 320x240 H.264 and AAC as a VOD fMP4 HLS stream, 1 s segments.
async function makeStream(dir) {
  const { code, stderr } = await run('ffmpeg', [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25',
    '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', '12', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac',
    '-f', 'hls', '-hls_segment_type', 'fmp4', '-hls_time', '1', '-hls_playlist_type', 'vod',
    '-hls_fmp4_init_filename', 'init.mp4', '-hls_segment_filename', path.join(dir, 'seg-%d.m4s'),
    path.join(dir, 'index.m3u8'),
  ], 30000);
  assert.equal(code, 0, `ffmpeg failed: ${stderr}`);
}

const TYPES = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mp4': 'video/mp4',
  '.m4s': 'video/mp4',
};

// The page at /, hls.js at /vendor/hls.min.js, and the stream at
// /streams/demo/. Only file names are taken from the request, so nothing
// outside `dir` is served.
async function serve(dir) {
  const server = http.createServer(async (req, res) => {
    const { pathname } = new URL(req.url, 'http://x');
    let file;
    let type;
    if (pathname === '/') {
      file = path.join(here, 'fixture_page.html');
      type = 'text/html; charset=utf-8';
    } else if (pathname === '/vendor/hls.min.js') {
      file = path.join(root, 'node_modules/hls.js/dist/hls.min.js');
      type = 'text/javascript';
    } else if (pathname.startsWith('/streams/demo/')) {
      const name = path.basename(pathname);
      file = path.join(dir, name);
      type = TYPES[path.extname(name)];
    }
    try {
      if (!file || !type) throw new Error('no such file');
      const body = await readFile(file);
      res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-cache' });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end('{"code":"NOT_FOUND","message":"not found","details":{}}');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('play.mjs in headless Chromium', () => {
  let dir;
  let server;
  let page;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mirror-play-'));
    await makeStream(dir);
    server = await serve(dir);
    page = `http://127.0.0.1:${server.address().port}/`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reports playback of a stream through the player page', async () => {
    const { code, stdout, stderr } = await run('node', [PLAY, '--page', page, '--stream', 'demo', '--seconds', '5', '--json', '-'], 25000);
    const r = JSON.parse(stdout || '{}');
    assert.equal(code, 0, `exit ${code}: ${JSON.stringify(r.reasons)} ${stderr}`);
    assert.equal(r.ok, true);
    assert.deepEqual(r.reasons, []);
    assert.ok(r.attachedMs !== null && r.startedMs !== null && r.startedMs < 10000, `started at ${r.startedMs} ms`);
    assert.ok(r.playback.ratio >= 0.8, `advance ratio ${r.playback.ratio}`);
    assert.ok(r.playback.advancedS > 3, `advanced ${r.playback.advancedS} s`);
    assert.equal(r.hlsErrors.filter((e) => e.fatal).length, 0);
    assert.equal(r.level.live, false);
    assert.equal(r.level.targetDuration, 1);
    assert.ok(r.sampleCount >= 40, `samples: ${r.sampleCount}`);
    assert.ok(r.quality.totalFrames > 50, `frames: ${r.quality.totalFrames}`);
  });

  it('fails and says why for a stream that does not exist', async () => {
    const { code, stdout } = await run('node', [PLAY, '--page', page, '--stream', 'nosuch', '--seconds', '2', '--json', '-'], 25000);
    const r = JSON.parse(stdout);
    assert.equal(code, 1);
    assert.equal(r.ok, false);
    assert.ok(r.reasons.some((x) => /fatal hls\.js error manifestLoadError/.test(x)), r.reasons.join('; '));
    assert.ok(r.reasons.some((x) => /playback never started/.test(x)), r.reasons.join('; '));
  });

  it('fails when the page never exposes window.mirror', async () => {
    const { code, stdout } = await run('node', [PLAY, '--page', `${page}vendor/hls.min.js`, '--stream', 'demo',
      '--seconds', '1', '--start-timeout-ms', '1500', '--json', '-'], 25000);
    const r = JSON.parse(stdout);
    assert.equal(code, 1);
    assert.match(r.reasons[0], /did not set window\.mirror/);
  });
});

describe('analysePlayback', () => {
  // Samples every 100 ms from t = 1000 (since navigation at 0); currentTime
  // follows `clock(i)`.
  const samples = (n, clock) => Array.from({ length: n }, (_, i) => ({
    t: 1000 + i * 100, currentTime: clock(i), readyState: 4, paused: false, ended: false,
    playbackRate: 1, bufferedEnd: null, latency: 1.2, playingDate: 1000 + i * 100 - 1500,
  }));
  const data = (list, hlsErrors = []) => ({ attachedAt: 900, samples: list, hlsErrors, videoEvents: [] });

  it('passes steady playback and summarises latency', () => {
    const r = analysePlayback(data(samples(50, (i) => i * 0.1)), { navigationStart: 0 });
    assert.deepEqual(r.reasons, []);
    assert.equal(r.startedMs, 1100);
    assert.deepEqual(r.latencyMs, { p50: 1200, p95: 1200, max: 1200, samples: 49 });
    assert.equal(r.glassLatencyMs.p50, 1500);
  });

  it('reports a stall longer than the limit', () => {
    // Frozen at 2.0 s from sample 20 to sample 26: 600 ms.
    const clock = (i) => (i <= 20 ? i * 0.1 : i < 26 ? 2.0 : (i - 5) * 0.1);
    const r = analysePlayback(data(samples(60, clock)), { navigationStart: 0, maxStallMs: 300 });
    assert.equal(r.stalls.length, 1);
    assert.equal(r.stalls[0].durationMs, 600);
    assert.equal(r.longestStallMs, 600);
    assert.ok(r.reasons.some((x) => /stall of 600 ms/.test(x)), r.reasons.join('; '));
  });

  it('accepts only the non-fatal errors it is told to', () => {
    const errors = [{ t: 1500, type: 'mediaError', details: 'bufferStalledError', fatal: false, reason: '' }];
    const list = samples(30, (i) => i * 0.1);
    assert.equal(analysePlayback(data(list, errors), { navigationStart: 0 }).ok, false);
    assert.equal(analysePlayback(data(list, errors), { navigationStart: 0, allowErrors: ['bufferStalledError'] }).ok, true);
  });

  it('forgives what goes wrong in the warm-up, and only there', () => {
    // Frozen for 600 ms one second into playback, and again at 4 s.
    const clock = (i) => (i <= 10 ? i * 0.1 : i < 16 ? 1.0 : i <= 40 ? (i - 5) * 0.1 : i < 46 ? 3.5 : (i - 10) * 0.1);
    const errors = [
      { t: 2000, type: 'mediaError', details: 'bufferAppendError', fatal: false, reason: '' },
      { t: 5500, type: 'networkError', details: 'aborted', fatal: false, reason: '' },
    ];
    const r = analysePlayback(data(samples(60, clock), errors), { navigationStart: 0, maxStallMs: 300, warmupMs: 2000 });
    assert.equal(r.stalls.length, 2);
    assert.ok(!r.reasons.some((x) => /bufferAppendError/.test(x)), r.reasons.join('; '));
    assert.ok(r.reasons.some((x) => /aborted/.test(x)), r.reasons.join('; '));
    assert.equal(r.reasons.filter((x) => /stall of/.test(x)).length, 1, r.reasons.join('; '));
    // A fatal error fails the run even in the warm-up.
    const fatal = [{ t: 1500, type: 'mediaError', details: 'bufferAppendError', fatal: true, reason: '' }];
    assert.equal(analysePlayback(data(samples(30, (i) => i * 0.1), fatal), { navigationStart: 0, warmupMs: 5000 }).ok, false);
  });

  it('does not count a seek as playback', () => {
    // Seeking from 0 to the live edge at 3 s, then playing on.
    const list = samples(40, (i) => (i < 3 ? 0 : 3 + (i - 3) * 0.1));
    list[3].seeking = true;
    const r = analysePlayback(data(list), { navigationStart: 0 });
    assert.deepEqual(r.jumps, [{ atMs: 1300, from: 0, to: 3 }]);
    assert.equal(r.startedMs, 1500);
    assert.equal(r.playback.advancedS, 3.5);
    assert.deepEqual(r.reasons, []);
  });

  it('reports playback that runs too slowly', () => {
    const r = analysePlayback(data(samples(50, (i) => i * 0.05)), { navigationStart: 0 });
    assert.ok(r.reasons.some((x) => /advanced/.test(x)), r.reasons.join('; '));
  });
});
