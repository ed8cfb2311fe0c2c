#!/usr/bin/env node
// Drives Mirror's operator console (the admin server's "/") in headless
// Chromium the way an operator would, against the real server, and reports
// each step.
//
//   node tests/browser/console.mjs --admin http://127.0.0.1:PORT --token TOKEN \
//        --srt-port N --sdp-port N [--shots DIR] [--json FILE]
//
// Steps: a wrong token is refused and the right one signs in; the table
// fills as three SRT streams start (ffmpeg senders started here) and shows
// one as ended when its sender stops; the Disconnect action (confirmed) ends
// another; the RTP form declares a stream from an SDP whose text carries
// markup that must not run; signing out shows the sign-in again. Screenshots
// of the console go to --shots. Exit status 0 when every step passed.

import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { chromiumPath } from './play.mjs';

const { values } = parseArgs({
  options: {
    admin: { type: 'string' },
    token: { type: 'string' },
    'srt-port': { type: 'string' },
    'sdp-port': { type: 'string' },
    shots: { type: 'string' },
    json: { type: 'string' },
  },
});
if (!values.admin || !values.token || !values['srt-port'] || !values['sdp-port']) {
  process.stderr.write('usage: node tests/browser/console.mjs --admin URL --token TOKEN --srt-port N --sdp-port N [--shots DIR] [--json FILE]\n');
  process.exit(2);
}

function sender(name) {
  const args = ['-hide_banner', '-loglevel', 'error', '-re',
    '-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k', '-f', 'mpegts',
    `srt://127.0.0.1:${values['srt-port']}?mode=caller&pkt_size=1316&streamid=${name}`];
  return spawn('/usr/bin/ffmpeg', args, { stdio: 'ignore' });
}

const steps = [];
const senders = new Map();
let browser;

async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
    steps.push({ step: name, ok: true, ms: Date.now() - started });
  } catch (err) {
    steps.push({ step: name, ok: false, ms: Date.now() - started, reason: String(err && err.message || err).slice(0, 800) });
    throw err;
  }
}

async function badge(page, name) {
  return page.locator(`tr[data-stream="${name}"] .badge`).textContent({ timeout: 1000 }).catch(() => null);
}

async function shot(page, file) {
  if (!values.shots) return;
  mkdirSync(values.shots, { recursive: true });
  await page.screenshot({ path: join(values.shots, file), fullPage: true });
}

try {
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('dialog', (d) => d.accept());

  await step('a wrong token is refused', async () => {
    await page.goto(values.admin);
    await page.locator('#sign-in').waitFor({ state: 'visible', timeout: 10000 });
    await page.fill('#token', 'not-the-token');
    await page.click('#sign-in-form button[type="submit"]');
    await page.locator('#sign-in-error').waitFor({ state: 'visible', timeout: 5000 });
    const text = await page.textContent('#sign-in-error');
    if (!/wrong token/i.test(text)) throw new Error(`error text: ${text}`);
    if (await page.isVisible('#console')) throw new Error('the console shows without a session');
  });

  await step('the right token signs in', async () => {
    await page.fill('#token', values.token);
    await page.click('#sign-in-form button[type="submit"]');
    await page.locator('#console').waitFor({ state: 'visible', timeout: 5000 });
    await page.waitForFunction(() => document.getElementById('connection').textContent === 'live', null, { timeout: 10000 });
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'mirror_session');
    if (!session || !session.httpOnly || session.sameSite !== 'Strict') throw new Error(`cookie: ${JSON.stringify(session)}`);
    if (await page.evaluate(() => document.cookie.includes('mirror_session'))) throw new Error('the page can read the cookie');
  });

  await step('the table fills as three streams start', async () => {
    for (const name of ['cam-a', 'cam-b', 'cam-c']) senders.set(name, sender(name));
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#stream-rows tr')];
      const live = rows.filter((r) => r.querySelector('.badge')?.textContent === 'live');
      return live.length === 3;
    }, null, { timeout: 30000 });
    // Figures arrive: bitrate, codecs, audio meters, a thumbnail.
    await page.waitForFunction(() => [...document.querySelectorAll('#stream-rows tr')].every((r) =>
      /bit\/s/.test(r.querySelector('.rate')?.textContent || '') &&
      /H\.264/.test(r.querySelector('.col-source')?.textContent || '') &&
      r.querySelectorAll('.meter').length > 0 &&
      r.querySelector('.thumb')?.naturalWidth > 0), null, { timeout: 30000 });
    const count = await page.textContent('#stream-count');
    if (count !== '3') throw new Error(`count ${count}`);
    // Each row opens its stream in the player and on the wall (delivery port).
    const links = await page.evaluate(() => [...document.querySelectorAll('tr[data-stream="cam-a"] a.button')]
      .map((a) => new URL(a.href)).map((u) => `${u.pathname}${u.search}`));
    if (links.join(' ') !== '/?stream=cam-a /wall?layout=1x1&streams=cam-a') throw new Error(`row links: ${links}`);
    const wall = new URL(await page.getAttribute('#open-wall', 'href'), values.admin);
    if (wall.pathname !== '/wall' || wall.port === new URL(values.admin).port) throw new Error(`wall link: ${wall}`);
    await shot(page, 'console-three-streams.png');
  });

  await step('a stream whose publisher leaves is shown ending', async () => {
    senders.get('cam-c').kill('SIGKILL');
    await page.waitForFunction(() => {
      const b = document.querySelector('tr[data-stream="cam-c"] .badge')?.textContent;
      return b === 'reconnecting' || b === 'ended';
    }, null, { timeout: 20000 });
    await page.waitForFunction(() => document.querySelector('tr[data-stream="cam-c"] .badge')?.textContent === 'ended',
      null, { timeout: 30000 });
  });

  await step('disconnect ends a stream', async () => {
    await page.click('tr[data-stream="cam-b"] button.danger');
    await page.waitForFunction(() => document.querySelector('tr[data-stream="cam-b"] .badge')?.textContent === 'ended',
      null, { timeout: 15000 });
    const a = await badge(page, 'cam-a');
    if (a !== 'live') throw new Error(`cam-a is ${a}`);
  });

  await step('the RTP form declares a stream and runs no markup', async () => {
    await page.fill('#rtp-name', 'declared-rtp');
    await page.fill('#rtp-sdp', [
      'v=0', 'o=- 0 0 IN IP4 127.0.0.1', 's=<img src=x onerror="window.__pwned=1">', 'c=IN IP4 127.0.0.1', 't=0 0',
      `m=video ${values['sdp-port']} RTP/AVP 96`, 'a=rtpmap:96 H264/90000', 'a=fmtp:96 packetization-mode=1', ''].join('\r\n'));
    await page.click('#rtp-form button[type="submit"]');
    await page.waitForFunction(() => /Declared declared-rtp|Refused/.test(document.getElementById('rtp-result').textContent),
      null, { timeout: 10000 });
    const result = await page.textContent('#rtp-result');
    if (!/Declared declared-rtp/.test(result)) throw new Error(result);
    await page.waitForSelector('tr[data-stream="declared-rtp"]', { timeout: 10000 });
    // A name the API refuses never leaves the page.
    await page.fill('#rtp-name', '<script>x</script>');
    await page.click('#rtp-form button[type="submit"]');
    if (await page.evaluate(() => window.__pwned === 1 || document.querySelector('#console img[src="x"]') !== null)) {
      throw new Error('markup from the SDP ran');
    }
    await shot(page, 'console-after-actions.png');
  });

  await step('sign out shows the sign-in again', async () => {
    await page.click('#sign-out');
    await page.locator('#sign-in').waitFor({ state: 'visible', timeout: 5000 });
    const status = await page.evaluate(async () => (await fetch('/api/v1/streams')).status);
    if (status !== 401) throw new Error(`the API answers ${status} after signing out`);
  });

  if (pageErrors.length) steps.push({ step: 'no page errors', ok: false, reason: pageErrors.join(' | ') });
} catch {
  // The failed step is recorded.
} finally {
  for (const s of senders.values()) s.kill('SIGKILL');
  if (browser) await browser.close();
}

const ok = steps.length > 0 && steps.every((s) => s.ok) && steps.length >= 7;
const report = { ok, steps };
if (values.json) await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
for (const s of steps) process.stdout.write(`${s.ok ? 'ok  ' : 'FAIL'} ${s.step} (${s.ms ?? 0} ms)${s.reason ? `: ${s.reason}` : ''}\n`);
process.exit(ok ? 0 : 1);
