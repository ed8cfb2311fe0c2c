#!/usr/bin/env node
// Starts a stream in video.js 8 with its VHS engine (llhls on) in headless
// Chromium, several times in a row, and reports how each start went.
//
//   node tests/browser/vhs_play.mjs --url http://127.0.0.1:PORT/streams/NAME/index.m3u8 \
//        [--starts 10] [--seconds 20] [--start-seconds 3] [--allow-failures 0] [--json -|FILE]
//
// Each start is a fresh context (no cache, own connections) with a page
// that loads video.js from node_modules and plays the URL muted. A start
// passes when playback begins within 10 s and currentTime then advances by
// at least --start-seconds with no player error; the last start goes on for
// --seconds and must advance by at least 80 % of that. The player's errors
// and VHS's own warnings ("No available working or supported playlists",
// playlist exclusions) are listed, and a start that failed is explained
// (the player's states, warnings and requests with their times). Exit
// status 0 when the last start and all but --allow-failures of the others
// passed.

import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { chromiumPath } from './play.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const videojsPath = join(here, "..", "..", "node_modules", "video.js", "dist", process.env.VHS_DEBUG ? "video.js" : "video.min.js");

const PAGE = '<!doctype html><html><body><video id="v" class="video-js" muted playsinline width="640" height="360"></video></body></html>';

// In the page: starts video.js on `url` and records what happens.
function startPlayer(url) {
  const log = { errors: [], warnings: [], samples: [], startedAt: Date.now() };
  window.vhsLog = log;
  const text = (a) => (a instanceof Error ? `${a} ${(a.stack || '').split('\n').slice(1, 4).join(' | ')}` : String(a));
  const keep = (level) => (...args) => log[level].push({ t: Date.now(), text: args.map(text).join(' ').slice(0, 600) });
  // VHS reports exclusions and its fatal "no playlists" through videojs.log.
  window.videojs.log.warn = keep('warnings');
  window.videojs.log.error = keep('errors');
  const player = window.videojs('v', { autoplay: 'muted', muted: true, html5: { vhs: { llhls: true, overrideNative: true } } });
  player.on('error', () => {
    const e = player.error();
    log.errors.push({ t: Date.now(), text: `player error ${e && e.code}: ${e && e.message}` });
  });
  player.src({ src: url, type: 'application/x-mpegURL' });
  player.play().catch(() => {});
  const ranges = (r) => Array.from({ length: r.length }, (_, i) => `${r.start(i).toFixed(2)}-${r.end(i).toFixed(2)}`).join(' ');
  setInterval(() => {
    const vhs = player.tech(true) && player.tech(true).vhs;
    const media = vhs && vhs.playlists && vhs.playlists.media();
    log.samples.push({
      t: Date.now(), currentTime: player.currentTime(), paused: player.paused(), readyState: player.readyState(),
      buffered: ranges(player.buffered()), media: media ? String(media.resolvedUri || media.uri).replace(/^.*\/streams\//, '') : '',
    });
  }, 100);
}

// How far playback got: start time (first advance) and seconds advanced.
export function judgeStart(log, { startSeconds, seconds, last }) {
  const reasons = [];
  const s = log.samples;
  let startIndex = -1;
  for (let i = 1; i < s.length && startIndex < 0; i++) {
    if (s[i].currentTime > s[i - 1].currentTime + 0.001) startIndex = i - 1;
  }
  const startedMs = startIndex >= 0 ? s[startIndex + 1].t - log.startedAt : null;
  if (startedMs === null) reasons.push('playback never started');
  else if (startedMs > 10000) reasons.push(`playback started after ${startedMs} ms`);
  let advanced = 0;
  let wallMs = 0;
  if (startIndex >= 0) {
    for (let i = startIndex + 1; i < s.length; i++) {
      const d = s[i].currentTime - s[i - 1].currentTime;
      if (d > 0 && d < 1) advanced += d;
    }
    wallMs = s.at(-1).t - s[startIndex].t;
  }
  const need = last ? 0.8 * seconds : startSeconds;
  if (startedMs !== null && advanced < need) reasons.push(`currentTime advanced ${advanced.toFixed(2)} s, needs ${need} s`);
  for (const e of log.errors) reasons.push(`error: ${e.text}`);
  for (const w of log.warnings) {
    if (/No available working or supported playlists|excluding|blacklist/i.test(w.text)) reasons.push(`VHS: ${w.text}`);
  }
  return { ok: reasons.length === 0, reasons, startedMs, advancedS: Math.round(advanced * 1000) / 1000, wallMs };
}

// For a start that failed: how the player's state went (every change of
// playlist, readyState or buffered ranges, and where the playhead stood
// still), the player's warnings, and the requests with their times, so
// that a stall seen once explains itself.
export function explainStart(log, requests) {
  const at = (t) => t - log.startedAt;
  const states = [];
  let last = '';
  for (const s of log.samples) {
    const key = `${s.media} rs=${s.readyState} buf=[${s.buffered}]${s.paused ? ' paused' : ''}`;
    if (key !== last) states.push(`${at(s.t)} ms t=${s.currentTime.toFixed(2)} ${key}`);
    last = key;
  }
  return {
    states: states.slice(0, 80),
    warnings: log.warnings.map((w) => `${at(w.t)} ms ${w.text}`).slice(0, 40),
    requests: requests.map((r) => `${at(r.start)}+${r.end === null ? 'open' : r.end - r.start} ms ${r.status ?? r.failure ?? ''} ${r.url}`).slice(-120),
  };
}

export async function runStarts({ url, starts = 10, seconds = 20, startSeconds = 3, allowFailures = 0 }) {
  const script = readFileSync(videojsPath, 'utf8');
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--autoplay-policy=no-user-gesture-required', '--no-sandbox'],
  });
  const results = [];
  try {
    for (let i = 0; i < starts; i++) {
      const last = i === starts - 1;
      const context = await browser.newContext();
      const page = await context.newPage();
      const pageErrors = [];
      page.on('pageerror', (err) => pageErrors.push(err.message));
      const requests = [];
      const open = new Map();
      page.on('request', (req) => {
        if (req.url().startsWith('blob:')) return;
        const r = { url: req.url().replace(/^.*\/streams\//, ''), start: Date.now(), end: null };
        open.set(req, r);
        requests.push(r);
      });
      const finish = (req, extra) => {
        const r = open.get(req);
        if (!r) return;
        open.delete(req);
        Object.assign(r, { end: Date.now() }, extra);
      };
      page.on('requestfinished', async (req) => {
        const response = await req.response().catch(() => null);
        finish(req, { status: response ? response.status() : null });
      });
      page.on('requestfailed', (req) => finish(req, { failure: req.failure()?.errorText ?? 'failed' }));
      await page.setContent(PAGE);
      await page.addScriptTag({ content: script });
      await page.evaluate(startPlayer, url);
      // A start is judged as soon as it has played enough; the last plays on.
      const deadline = Date.now() + (last ? 10000 + seconds * 1000 : 10000 + startSeconds * 1000 + 2000);
      let verdict;
      let log;
      for (;;) {
        await page.waitForTimeout(500);
        log = await page.evaluate(() => window.vhsLog);
        verdict = judgeStart(log, { startSeconds, seconds, last });
        const fatal = log.errors.length > 0;
        if (fatal || Date.now() > deadline) break;
        if (!last && verdict.ok) break;
        if (last && verdict.ok && verdict.wallMs >= seconds * 1000) break;
      }
      verdict.pageErrors = pageErrors;
      if (pageErrors.length) verdict.reasons.push(...pageErrors.map((m) => `page error: ${m}`));
      verdict.ok = verdict.reasons.length === 0;
      if (!verdict.ok) verdict.explanation = explainStart(log, requests);
      results.push({ start: i + 1, ...verdict });
      await context.close();
    }
  } finally {
    await browser.close();
  }
  const failures = results.filter((r) => !r.ok).length;
  const ok = results.length > 0 && results.at(-1).ok && failures <= allowFailures;
  return { ok, failures, allowFailures, url, starts: results };
}

async function main() {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      starts: { type: 'string', default: '10' },
      seconds: { type: 'string', default: '20' },
      'start-seconds': { type: 'string', default: '3' },
      'allow-failures': { type: 'string', default: '0' },
      json: { type: 'string' },
    },
  });
  if (!values.url) {
    process.stderr.write('usage: node tests/browser/vhs_play.mjs --url URL [--starts 10] [--seconds 20] [--start-seconds 3] [--allow-failures 0] [--json -|FILE]\n');
    process.exit(2);
  }
  const result = await runStarts({
    url: values.url, starts: Number(values.starts), seconds: Number(values.seconds), startSeconds: Number(values['start-seconds']),
    allowFailures: Number(values['allow-failures']),
  });
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (values.json === '-') process.stdout.write(json);
  else {
    if (values.json) await writeFile(values.json, json);
    for (const r of result.starts) {
      process.stdout.write(`start ${r.start}: ${r.ok ? 'ok' : 'FAIL'} started ${r.startedMs} ms, advanced ${r.advancedS} s` +
        `${r.reasons.length ? `\n  - ${r.reasons.join('\n  - ')}` : ''}\n`);
      if (r.explanation) {
        for (const [what, lines] of Object.entries(r.explanation)) {
          process.stdout.write(`  ${what}:\n${lines.map((l) => `    ${l}\n`).join('')}`);
        }
      }
    }
    process.stdout.write(`${result.failures} of ${result.starts.length} starts failed (${result.allowFailures} allowed, not the last)\n`);
  }
  process.exit(result.ok ? 0 : 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
