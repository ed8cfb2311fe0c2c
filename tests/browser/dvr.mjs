#!/usr/bin/env node
// The player page's DVR in headless Chromium against the real server: a
// stream that has been recording for over a minute plays live; "−1 min"
// plays its recording from a minute ago (hls.js on the DVR playlist, the
// picture's EXT-X-PROGRAM-DATE-TIME about 60 s behind the clock, advancing);
// the slider seeks further back; "Live" returns to the live edge. A
// ?start=&end= window plays to its end in a bare hls.js player.
//
//   node tests/browser/dvr.mjs --page http://127.0.0.1:PORT/ --stream NAME [--shots DIR] [--json FILE]
//
// Exit status 0 when every step passed.

import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { chromiumPath } from './play.mjs';

const { values } = parseArgs({
  options: {
    page: { type: 'string' },
    stream: { type: 'string' },
    shots: { type: 'string' },
    json: { type: 'string' },
  },
});
if (!values.page || !values.stream) {
  process.stderr.write('usage: node tests/browser/dvr.mjs --page URL --stream NAME [--shots DIR] [--json FILE]\n');
  process.exit(2);
}

const steps = [];
let browser;

async function step(name, fn) {
  const started = Date.now();
  try {
    const detail = await fn();
    steps.push({ step: name, ok: true, ms: Date.now() - started, ...(detail || {}) });
  } catch (err) {
    steps.push({ step: name, ok: false, ms: Date.now() - started, reason: String(err && err.message || err).slice(0, 800) });
    throw err;
  }
}

async function shot(page, file) {
  if (!values.shots) return;
  mkdirSync(values.shots, { recursive: true });
  await page.screenshot({ path: join(values.shots, file) });
}

// How far behind the clock the picture on screen is (s), and the mode.
async function where(page) {
  return page.evaluate(() => {
    const m = window.mirror;
    if (!m || !m.hls) return null;
    const date = m.hls.playingDate;
    return { mode: m.mode, behind: date ? (Date.now() - date.getTime()) / 1000 : null, t: m.video.currentTime };
  });
}

async function waitBehind(page, mode, low, high, timeout) {
  await page.waitForFunction(([mode, low, high]) => {
    const m = window.mirror;
    const date = m && m.hls && m.hls.playingDate;
    if (!m || m.mode !== mode || !date || m.video.paused) return false;
    const behind = (Date.now() - date.getTime()) / 1000;
    return behind >= low && behind <= high;
  }, [mode, low, high], { timeout });
}

// currentTime advances by at least `seconds` * 0.7 over `seconds`.
async function advances(page, seconds) {
  const before = await where(page);
  await page.waitForTimeout(seconds * 1000);
  const after = await where(page);
  if (!before || !after || after.t - before.t < seconds * 0.7) {
    throw new Error(`playback did not advance: ${JSON.stringify({ before, after })}`);
  }
  return { advanced: +(after.t - before.t).toFixed(2) };
}

try {
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true,
    args: ['--no-sandbox', '--autoplay-policy=no-user-gesture-required'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const url = new URL(values.page);
  url.searchParams.set('stream', values.stream);

  await step('the stream plays live with the DVR bar shown', async () => {
    await page.goto(url.toString());
    await waitBehind(page, 'live', -1, 6, 30000);
    await page.locator('#dvr').waitFor({ state: 'visible', timeout: 15000 });
    const edges = await page.textContent('#dvr .dvr-edges');
    if (!/–\s*now/.test(edges)) throw new Error(`edges: ${edges}`);
    return { ...(await where(page)) };
  });

  await step('one minute back plays the recording from a minute ago', async () => {
    await page.click('#dvr .dvr-back');
    await waitBehind(page, 'dvr', 50, 75, 30000);
    const detail = await advances(page, 5);
    const w = await where(page);
    if (w.behind < 50 || w.behind > 75) throw new Error(`behind ${w.behind} s`);
    const time = await page.textContent('#dvr .dvr-time');
    if (!/^\d\d:\d\d:\d\d$/.test(time)) throw new Error(`time shown: ${time}`);
    if (await page.isDisabled('#dvr .dvr-live')) throw new Error('Live is disabled while behind');
    await shot(page, 'dvr-one-minute-back.png');
    return { ...detail, behind: +w.behind.toFixed(1) };
  });

  await step('the slider seeks further back', async () => {
    // A third of the way along the retained span.
    await page.evaluate(() => {
      const range = document.querySelector('#dvr .dvr-range');
      range.value = '300';
      range.dispatchEvent(new Event('input'));
      range.dispatchEvent(new Event('change'));
    });
    await page.waitForFunction(() => {
      const m = window.mirror;
      const date = m && m.hls && m.hls.playingDate;
      return m && m.mode === 'dvr' && date && (Date.now() - date.getTime()) / 1000 > 45 && !m.video.paused;
    }, null, { timeout: 30000 });
    return advances(page, 3);
  });

  await step('Live returns to the live edge', async () => {
    await page.click('#dvr .dvr-live');
    await waitBehind(page, 'live', -1, 6, 30000);
    const detail = await advances(page, 3);
    if (!(await page.isDisabled('#dvr .dvr-live'))) throw new Error('Live is still enabled at the edge');
    await shot(page, 'dvr-back-to-live.png');
    return detail;
  });

  await step('a start/end window plays to its end in hls.js', async () => {
    const end = Date.now() - 20000;
    const start = end - 12000;
    const origin = new URL(values.page).origin;
    const src = `${origin}/streams/${values.stream}/dvr/index.m3u8?start=${(start / 1000).toFixed(3)}&end=${(end / 1000).toFixed(3)}`;
    const result = await page.evaluate(async (src) => {
      const video = document.createElement('video');
      video.muted = true;
      document.body.appendChild(video);
      const hls = new window.Hls({ startPosition: 0 });
      const ended = new Promise((resolve) => video.addEventListener('ended', resolve));
      const live = new Promise((resolve) => hls.on(window.Hls.Events.LEVEL_LOADED, (e, d) => resolve(d.details.live)));
      hls.loadSource(src);
      hls.attachMedia(video);
      await new Promise((resolve) => hls.on(window.Hls.Events.MANIFEST_PARSED, resolve));
      video.playbackRate = 4;
      await video.play();
      const isLive = await live;
      await Promise.race([ended, new Promise((r) => setTimeout(r, 20000))]);
      const out = { live: isLive, ended: video.ended, duration: video.duration, played: video.currentTime };
      hls.destroy();
      video.remove();
      return out;
    }, src);
    if (result.live !== false) throw new Error(`the window is not VOD: ${JSON.stringify(result)}`);
    if (!result.ended || Math.abs(result.duration - 12) > 2.5) throw new Error(`window: ${JSON.stringify(result)}`);
    return result;
  });

  if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join('; ')}`);
} catch (err) {
  process.stderr.write(`${err && err.stack || err}\n`);
  process.exitCode = 1;
} finally {
  if (browser) await browser.close();
  const report = JSON.stringify({ steps }, null, 2);
  if (values.json) await writeFile(values.json, report);
  process.stdout.write(`${report}\n`);
}
