#!/usr/bin/env node
import { existsSync } from 'node:fs';
// Watches a stream in headless Chromium through Mirror's player page and
// reports how it played.
//
//   node tests/browser/play.mjs --page http://127.0.0.1:PORT/ --stream NAME... \
//        [--view multiview] [--seconds 30] [--json -|FILE] [--max-stall-ms 300] \
//        [--allow-error DETAILS]... [--start-timeout-ms 10000] [--keep-samples]
//        [--warmup-ms 0] [--spki HASH] [--force-quic HOST:PORT] [--pause AT_MS:FOR_MS]
//
// The page (PAGE?stream=NAME) plays the stream with hls.js and sets
// window.mirror = { hls, video } once it has attached it. An init script
// injected before the page's own scripts notices that assignment, listens to
// hls.js errors and to the video element's events, and samples the player
// every 100 ms: currentTime, readyState, buffered end, hls.latency and
// hls.playingDate (the EXT-X-PROGRAM-DATE-TIME of the playback position).
//
// The run passes when playback started within --start-timeout-ms of
// navigation, currentTime advanced by at least 80 % of the wall time since
// then, no stall lasted longer than --max-stall-ms, hls.js raised no fatal
// error and no other error than the --allow-error ones (hls.js `details`
// names such as bufferStalledError); stalls and non-fatal errors that begin
// within --warmup-ms of the start are reported but forgiven. Exit status 0
// when it passes, 1 with
// the reasons when not, 2 on a usage error.
//
// --pause AT_MS:FOR_MS pauses the video AT_MS after the player attached and
// plays it again FOR_MS later (a viewer who paused, a tab that was in the
// background); paused time does not count as playback or as a stall.
//
// Several --stream options play each in its own tab of one browser, at
// once; the output is then { ok, streams: [one verdict per stream] }. With
// as many --page options as --stream options, stream i plays from page i
// (the same stream from Mirror and from an edge in front of it, say).
//
// Output (--json - to stdout, --json FILE to a file; see analysePlayback):
//   ok, reasons, page, stream, seconds,
//   attachedMs, startedMs            (since navigation; null if never)
//   playback: { wallMs, advancedS, ratio, ended }
//   stalls: [{ atMs, durationMs, currentTime, ongoing }], longestStallMs
//   jumps: [{ atMs, from, to }]      (seeks and skipped holes, not playback)
//   hlsErrors: [{ atMs, type, details, fatal, reason, buffered }]
//   buffered: { audio: [[start, end]...], video: [...] }  (per SourceBuffer,
//            at the end; `buffered` of an error is the same at that moment)
//   videoEvents: { counts: { waiting, stalled, ... }, list: [{ atMs, type, currentTime }] }
//   startup: [{ atMs, what, ... }]   (the first 30 s after attaching, at most 60
//            entries: playlists, parts and appends as hls.js reported them,
//            and the element's loadedmetadata, loadeddata and canplay)
//   latencyMs, glassLatencyMs: { p50, p95, max, samples }
//   finalLatencyMs, finalGlassLatencyMs (of the last sample that had one)
//   level: { live, partTarget, partHoldBack, holdBack, targetDuration,
//            canBlockReload, canSkipUntil, targetLatency }
//   quality: { totalFrames, droppedFrames }, pageErrors, sampleCount,
//   playlistUrl (the multivariant playlist hls.js loaded),
//   protocols: { h2: N, ... } (playlist and media requests by the protocol
//              they went over, from resource timing), incompleteRequests
//              (those that never completed: aborted, or held at the end),
//   samples (with --keep-samples)

import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

// $CHROMIUM, else the first chromium on PATH.
export function chromiumPath() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = `${dir || '.'}/chromium`;
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('chromium not found: put it on PATH or set CHROMIUM');
}
import { chromium } from 'playwright-core';

const SAMPLE_INTERVAL_MS = 100;
const MIN_ADVANCE_RATIO = 0.8;

// Runs in the page before any of its scripts. Kept free of outside
// references: Playwright sends its source text.
function installPlaybackProbe({ intervalMs }) {
  const probe = { attachedAt: null, samples: [], hlsErrors: [], videoEvents: [], startup: [] };
  const round3 = (x) => (typeof x === 'number' ? Math.round(x * 1000) / 1000 : null);
  window.mirrorPlaybackProbe = probe;
  // Every request's timing entry is kept (the default buffer holds 250), so
  // that the protocol of each playlist and part request can be read.
  if (performance.setResourceTimingBufferSize) performance.setResourceTimingBufferSize(100000);

  const attach = (mirror) => {
    if (probe.attachedAt !== null || !mirror || !mirror.hls || !mirror.video) return;
    probe.attachedAt = Date.now();
    const { hls, video } = mirror;
    probe.hls = hls;
    probe.video = video;
    const Events = hls.constructor.Events;
    // What each SourceBuffer held after the latest append: it tells a hole
    // in the audio from one in the video when hls.js reports a stall.
    probe.trackRanges = {};
    hls.on(Events.BUFFER_APPENDED, (_event, data) => Object.assign(probe.trackRanges, data.timeRanges || {}));
    probe.trackBuffered = () => {
      const out = {};
      for (const [track, ranges] of Object.entries(probe.trackRanges)) {
        out[track] = [];
        for (let i = 0; i < ranges.length; i++) out[track].push([ranges.start(i), ranges.end(i)]);
      }
      return out;
    };
    hls.on(Events.ERROR, (_event, data) => {
      probe.hlsErrors.push({
        t: Date.now(),
        type: data.type,
        details: data.details,
        fatal: Boolean(data.fatal),
        reason: String(data.reason || (data.error && data.error.message) || (data.response && data.response.code) || ''),
        buffered: probe.trackBuffered(),
      });
    });
    // How the start went, for a start that took long: the first playlists,
    // parts and appends, and when the element got its metadata and data.
    const note = (what, extra) => {
      if (probe.startup.length < 60 && Date.now() - probe.attachedAt < 30000) {
        probe.startup.push({ t: Date.now(), what, ...extra });
      }
    };
    hls.on(Events.MANIFEST_LOADED, (_event, data) => note('manifest', { levels: data.levels ? data.levels.length : 0 }));
    hls.on(Events.LEVEL_LOADED, (_event, data) => {
      const d = data.details;
      if (d) note('level', { fragments: d.fragments.length, parts: d.partList ? d.partList.length : 0, edge: round3(d.edge) });
    });
    hls.on(Events.FRAG_LOADED, (_event, data) => {
      const f = data.frag;
      note('frag', { sn: f.sn, part: data.part ? data.part.index : null, start: round3(data.part ? data.part.start : f.start) });
    });
    hls.on(Events.BUFFER_CREATED, (_event, data) => note('buffers', { tracks: Object.keys(data.tracks || {}) }));
    hls.on(Events.BUFFER_APPENDED, (_event, data) => note('appended', { type: data.type }));
    for (const type of ['loadedmetadata', 'loadeddata', 'canplay']) {
      video.addEventListener(type, () => note(type, { currentTime: round3(video.currentTime) }));
    }
    for (const type of ['waiting', 'stalled', 'playing', 'pause', 'ended', 'seeking', 'seeked']) {
      video.addEventListener(type, () => probe.videoEvents.push({ t: Date.now(), type, currentTime: video.currentTime }));
    }
    setInterval(() => {
      const now = Date.now();
      const ranges = video.buffered;
      let bufferedEnd = null;
      for (let i = 0; i < ranges.length; i++) {
        if (ranges.start(i) <= video.currentTime + 0.1 && video.currentTime <= ranges.end(i)) bufferedEnd = ranges.end(i);
      }
      if (bufferedEnd === null && ranges.length > 0) bufferedEnd = ranges.end(ranges.length - 1);
      const details = hls.latestLevelDetails;
      const date = hls.playingDate;
      probe.samples.push({
        t: now,
        currentTime: video.currentTime,
        readyState: video.readyState,
        paused: video.paused,
        seeking: video.seeking,
        ended: video.ended,
        playbackRate: video.playbackRate,
        bufferedEnd,
        // hls.latency is 0 until a live playlist is loaded; a VOD has none.
        latency: details && details.live && hls.latency > 0 ? hls.latency : null,
        playingDate: date ? date.getTime() : null,
      });
    }, intervalMs);
  };

  // Catch the assignment itself, so no error between attaching and the
  // first poll is missed; poll as well, for a page that fills the object
  // in after assigning it or defines the property its own way.
  let current;
  try {
    Object.defineProperty(window, 'mirror', {
      configurable: true,
      get: () => current,
      set: (value) => {
        current = value;
        attach(value);
      },
    });
  } catch {
    // A page that made window.mirror non-configurable is still polled.
  }
  const poll = setInterval(() => {
    if (probe.attachedAt !== null) clearInterval(poll);
    else attach(window.mirror);
  }, 50);
}

// What the page knows at the end of the run.
function collectProbe() {
  const probe = window.mirrorPlaybackProbe;
  const out = {
    attachedAt: probe.attachedAt,
    samples: probe.samples,
    hlsErrors: probe.hlsErrors,
    videoEvents: probe.videoEvents,
    startup: probe.startup,
    level: null,
    quality: null,
    buffered: probe.trackBuffered ? probe.trackBuffered() : null,
    playlistUrl: probe.hls ? probe.hls.url || null : null,
  };
  if (probe.hls) {
    const d = probe.hls.latestLevelDetails;
    out.level = d && {
      live: d.live,
      partTarget: d.partTarget || null,
      partHoldBack: d.partHoldBack || null,
      holdBack: d.holdBack || null,
      targetDuration: d.targetduration,
      canBlockReload: d.canBlockReload,
      canSkipUntil: d.canSkipUntil || null,
      targetLatency: probe.hls.targetLatency,
    };
  }
  if (probe.video && probe.video.getVideoPlaybackQuality) {
    const q = probe.video.getVideoPlaybackQuality();
    out.quality = { totalFrames: q.totalVideoFrames, droppedFrames: q.droppedVideoFrames };
  }
  // How many playlist and media requests went over each protocol (h2, h3,
  // http/1.1), from the resource timing entries. A request that never
  // completed (hls.js aborted it, or it was still held when the run ended)
  // has no protocol: counted apart.
  out.protocols = {};
  out.incompleteRequests = 0;
  for (const e of performance.getEntriesByType('resource')) {
    if (!/\/streams\/[^?]*\.(m3u8|m4s|mp4)(\?|$)/.test(e.name)) continue;
    if (!e.nextHopProtocol) {
      out.incompleteRequests += 1;
      continue;
    }
    out.protocols[e.nextHopProtocol] = (out.protocols[e.nextHopProtocol] || 0) + 1;
  }
  return out;
}

// Opens PAGE?stream=NAME in headless Chromium, lets it play for `seconds`
// after the player attached and returns analysePlayback's verdict.
export async function playStream(options) {
  const [result] = await playStreams({ ...options, streams: [options.stream] });
  return result;
}

// The same for several streams at once, each in its own tab of one browser
// (as a viewer with several players open); one verdict per stream, in order.
// `view` is passed to the page as ?view= (e.g. multiview).
export async function playStreams({
  page, streams, seconds = 30, maxStallMs = 300, allowErrors = [], startTimeoutMs = 10000, keepSamples = false,
  warmupMs = 0, view = null, spki = null, forceQuic = null, pause = null,
}) {
  // An HTTPS page with Mirror's self-signed certificate: trusted by its key's
  // hash. HTTP/3: QUIC forced for that origin (no Alt-Svc round trip).
  const args = ['--autoplay-policy=no-user-gesture-required', '--no-sandbox'];
  if (spki) args.push(`--ignore-certificate-errors-spki-list=${spki}`);
  if (forceQuic) args.push('--enable-quic', `--origin-to-force-quic-on=${forceQuic}`);
  const browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args });
  try {
    const pages = Array.isArray(page) ? page : [page];
    return await Promise.all(streams.map(async (stream, i) => {
      const url = new URL(pages[Math.min(i, pages.length - 1)]);
      url.searchParams.set('stream', stream);
      if (view) url.searchParams.set('view', view);
      const pageErrors = [];
      let data;
      let attachProblem = null;
      // A context of its own: its own connections too (Chromium allows six
      // per host and profile over HTTP/1.1, and each player holds two in
      // blocking playlist reloads).
      const context = await browser.newContext();
      const tab = await context.newPage();
      tab.on('pageerror', (err) => pageErrors.push(err.message));
      await tab.addInitScript(installPlaybackProbe, { intervalMs: SAMPLE_INTERVAL_MS });
      const navigationStart = Date.now();
      try {
        await tab.goto(url.href, { waitUntil: 'domcontentloaded', timeout: startTimeoutMs });
        await tab.waitForFunction(() => window.mirrorPlaybackProbe && window.mirrorPlaybackProbe.attachedAt !== null,
          null, { timeout: Math.max(1, startTimeoutMs - (Date.now() - navigationStart)) });
      } catch (err) {
        attachProblem = `the page did not set window.mirror = { hls, video } within ${startTimeoutMs} ms ` +
          `(${err.message.split('\n')[0]})`;
      }
      if (!attachProblem && pause) {
        const at = Math.min(pause.atMs, seconds * 1000);
        const resume = Math.min(pause.atMs + pause.forMs, seconds * 1000);
        await tab.waitForTimeout(at);
        await tab.evaluate(() => window.mirror.video.pause());
        await tab.waitForTimeout(resume - at);
        await tab.evaluate(() => window.mirror.video.play().catch(() => {}));
        await tab.waitForTimeout(seconds * 1000 - resume);
      } else if (!attachProblem) {
        await tab.waitForTimeout(seconds * 1000);
      }
      data = await tab.evaluate(collectProbe).catch(() => null);
      await context.close();
      const result = analysePlayback(data ?? { attachedAt: null, samples: [], hlsErrors: [], videoEvents: [] }, {
        navigationStart, maxStallMs, allowErrors, startTimeoutMs, keepSamples, warmupMs,
      });
      if (attachProblem) result.reasons.unshift(attachProblem);
      result.ok = result.reasons.length === 0;
      result.pageErrors = pageErrors;
      return { page: url.href, stream, seconds, ...result };
    }));
  } finally {
    await browser.close();
  }
}

// Judges what the probe recorded. Pure, so tests can feed it samples.
// Times in the result are milliseconds since navigation.
export function analysePlayback(data, { navigationStart, maxStallMs = 300, allowErrors = [], startTimeoutMs = 10000, keepSamples = false, warmupMs = 0 }) {
  const since = (t) => (t === null || t === undefined ? null : Math.round(t - navigationStart));
  const samples = data.samples;
  const reasons = [];

  // Between two samples, currentTime either plays on (at most at hls.js's
  // fastest catch-up rate, 2x, plus slack for timer jitter), stands still,
  // waits for a seek to finish, or jumps: a seek, or hls.js skipping a hole
  // in the buffer. Jumps are no playback and are listed apart.
  const step = (prev, s) => {
    const wall = (s.t - prev.t) / 1000;
    const moved = s.currentTime - prev.currentTime;
    if (moved < 0 || moved > 2 * wall + 0.1) return 'jump';
    if (prev.seeking || s.seeking) return 'seek';
    if (moved < 0.001 || s.paused) return 'still';
    return 'play';
  };

  // Playback starts at the first sample that played on from the one before.
  let startIndex = -1;
  for (let i = 1; i < samples.length && startIndex < 0; i++) {
    if (step(samples[i - 1], samples[i]) === 'play') startIndex = i - 1;
  }
  const started = startIndex >= 0 ? samples[startIndex + 1] : null;
  const startedMs = started ? since(started.t) : null;
  if (data.attachedAt !== null && !started) reasons.push('playback never started: currentTime did not advance');
  else if (started && startedMs > startTimeoutMs) reasons.push(`playback started after ${startedMs} ms, limit ${startTimeoutMs} ms`);

  // From the start on: how far currentTime played, and where it stood still
  // although the element was neither paused nor at the end. A stall's
  // duration is measured from the first sample that showed the frozen time
  // to the first that showed it move, so it is known to one sample interval;
  // a seek that leaves the picture frozen counts as part of a stall.
  let playback = null;
  const stalls = [];
  const jumps = [];
  for (let i = 1; i < samples.length; i++) {
    if (step(samples[i - 1], samples[i]) === 'jump') {
      jumps.push({ atMs: since(samples[i].t), from: round(samples[i - 1].currentTime, 3), to: round(samples[i].currentTime, 3) });
    }
  }
  if (started) {
    const playing = samples.slice(startIndex);
    const endIndex = playing.findIndex((s) => s.ended);
    const watched = endIndex >= 0 ? playing.slice(0, endIndex + 1) : playing;
    let wallMs = 0;
    let advancedS = 0;
    let frozenSince = null;
    for (let i = 1; i < watched.length; i++) {
      const prev = watched[i - 1];
      const s = watched[i];
      if (!(prev.paused && s.paused)) wallMs += s.t - prev.t;
      const kind = step(prev, s);
      if (kind === 'play') advancedS += s.currentTime - prev.currentTime;
      const frozen = (kind === 'still' || kind === 'seek') && !s.paused && !s.ended;
      if (frozen && frozenSince === null) frozenSince = prev;
      if (!frozen && frozenSince !== null) {
        stalls.push({ atMs: since(frozenSince.t), durationMs: s.t - frozenSince.t, currentTime: frozenSince.currentTime, ongoing: false });
        frozenSince = null;
      }
    }
    if (frozenSince !== null) {
      stalls.push({
        atMs: since(frozenSince.t), durationMs: watched.at(-1).t - frozenSince.t, currentTime: frozenSince.currentTime, ongoing: true,
      });
    }
    playback = {
      wallMs, advancedS: round(advancedS, 3), ratio: wallMs > 0 ? round(advancedS / (wallMs / 1000), 3) : null, ended: endIndex >= 0,
    };
    if (wallMs > 0 && advancedS < MIN_ADVANCE_RATIO * (wallMs / 1000)) {
      reasons.push(`currentTime advanced ${round(advancedS, 2)} s in ${round(wallMs / 1000, 2)} s of playback ` +
        `(${Math.round((advancedS / (wallMs / 1000)) * 100)} %, needs ${MIN_ADVANCE_RATIO * 100} %)`);
    }
  }
  // One sample interval of stillness is the sampling's own jitter. Stalls
  // and non-fatal errors that begin in the warm-up (the first --warmup-ms of
  // playback: hls.js seeking to the live edge and catching up) are listed
  // but do not fail the run.
  const warmupEnd = startedMs === null ? null : startedMs + warmupMs;
  const inWarmup = (atMs) => warmupMs > 0 && warmupEnd !== null && atMs !== null && atMs < warmupEnd;
  const realStalls = stalls.filter((s) => s.durationMs > SAMPLE_INTERVAL_MS * 1.5);
  const longestStallMs = realStalls.reduce((m, s) => Math.max(m, s.durationMs), 0);
  for (const s of realStalls.filter((x) => x.durationMs > maxStallMs && !inWarmup(x.atMs))) {
    reasons.push(`stall of ${s.durationMs} ms at currentTime ${round(s.currentTime, 3)}${s.ongoing ? ' (still stalled at the end)' : ''}, limit ${maxStallMs} ms`);
  }

  const hlsErrors = data.hlsErrors.map((e) => ({
    atMs: since(e.t), type: e.type, details: e.details, fatal: e.fatal, reason: e.reason, buffered: e.buffered ?? null,
  }));
  for (const e of hlsErrors) {
    if (e.fatal) reasons.push(`fatal hls.js error ${e.details} at ${e.atMs} ms${e.reason ? `: ${e.reason}` : ''}`);
  }
  const unexpected = hlsErrors.filter((e) => !e.fatal && !allowErrors.includes(e.details) && !inWarmup(e.atMs));
  const unexpectedKinds = [...new Set(unexpected.map((e) => e.details))];
  for (const details of unexpectedKinds) {
    const n = unexpected.filter((e) => e.details === details).length;
    reasons.push(`hls.js error ${details} (${n} times, not allowed by --allow-error)`);
  }

  const counts = {};
  for (const e of data.videoEvents) counts[e.type] = (counts[e.type] ?? 0) + 1;
  const afterStart = started ? samples.filter((s) => s.t >= started.t) : [];
  const latencyMs = afterStart.filter((s) => s.latency !== null).map((s) => s.latency * 1000);
  const glassLatencyMs = afterStart.filter((s) => s.playingDate !== null).map((s) => s.t - s.playingDate);
  const last = (values) => (values.length ? Math.round(values.at(-1)) : null);

  const result = {
    ok: reasons.length === 0,
    reasons,
    attachedMs: since(data.attachedAt),
    startedMs,
    playback,
    stalls: realStalls,
    longestStallMs,
    jumps,
    hlsErrors,
    warmupMs,
    videoEvents: { counts, list: data.videoEvents.map((e) => ({ atMs: since(e.t), type: e.type, currentTime: round(e.currentTime, 3) })) },
    startup: (data.startup ?? []).map(({ t, ...rest }) => ({ atMs: since(t), ...rest })),
    latencyMs: summary(latencyMs),
    glassLatencyMs: summary(glassLatencyMs),
    finalLatencyMs: last(latencyMs),
    finalGlassLatencyMs: last(glassLatencyMs),
    level: data.level ?? null,
    quality: data.quality ?? null,
    protocols: data.protocols ?? {},
    incompleteRequests: data.incompleteRequests ?? 0,
    buffered: data.buffered ?? null,
    playlistUrl: data.playlistUrl ?? null,
    sampleCount: samples.length,
  };
  if (keepSamples) result.samples = samples.map((s) => ({ ...s, atMs: since(s.t) }));
  return result;
}

function summary(values) {
  if (values.length === 0) return { p50: null, p95: null, max: null, samples: 0 };
  const sorted = values.slice().sort((a, b) => a - b);
  const at = (q) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  return { p50: at(0.5), p95: at(0.95), max: Math.round(sorted.at(-1)), samples: sorted.length };
}

function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function formatPlayback(r) {
  const lines = [
    `playback of ${r.stream} via ${r.page} for ${r.seconds} s: attached ${r.attachedMs} ms, started ${r.startedMs} ms after navigation`,
  ];
  if (r.playback) {
    lines.push(`  advanced ${r.playback.advancedS} s in ${r.playback.wallMs} ms (ratio ${r.playback.ratio})${r.playback.ended ? ', reached the end' : ''}`);
  }
  lines.push(`  stalls ${r.stalls.length}, longest ${r.longestStallMs} ms; jumps ${r.jumps.length}; hls.js errors ${r.hlsErrors.length}`);
  lines.push(`  latency ms p50/p95/max ${r.latencyMs.p50}/${r.latencyMs.p95}/${r.latencyMs.max}, ` +
    `glass ${r.glassLatencyMs.p50}/${r.glassLatencyMs.p95}/${r.glassLatencyMs.max}` +
    (r.level?.partTarget ? `, part target ${r.level.partTarget} s` : ''));
  lines.push(r.ok ? 'OK' : `FAIL:\n${r.reasons.map((x) => `  - ${x}`).join('\n')}`);
  return lines.join('\n');
}

async function main() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        page: { type: 'string', multiple: true },
        stream: { type: 'string', multiple: true },
        view: { type: 'string' },
        seconds: { type: 'string', default: '30' },
        json: { type: 'string' },
        'max-stall-ms': { type: 'string', default: '300' },
        'allow-error': { type: 'string', multiple: true, default: [] },
        'warmup-ms': { type: 'string', default: '0' },
        'start-timeout-ms': { type: 'string', default: '10000' },
        'keep-samples': { type: 'boolean', default: false },
        spki: { type: 'string' },
        'force-quic': { type: 'string' },
        pause: { type: 'string' },
      },
    }));
  } catch (err) {
    values = { error: err.message };
  }
  const seconds = Number(values.seconds);
  const maxStallMs = Number(values['max-stall-ms']);
  const startTimeoutMs = Number(values['start-timeout-ms']);
  const pauseMatch = /^(\d+):(\d+)$/.exec(values.pause ?? '');
  if (values.pause !== undefined && !pauseMatch) values.error = `bad --pause ${values.pause}: AT_MS:FOR_MS`;
  if (values.error || !values.page?.length || !values.stream?.length || !(seconds > 0) || !(maxStallMs >= 0) || !(startTimeoutMs > 0)) {
    process.stderr.write(`${values.error ? `${values.error}\n` : ''}usage: node tests/browser/play.mjs --page URL --stream NAME ` +
      '[--stream NAME]... [--view multiview] [--seconds 30] [--json -|FILE] [--max-stall-ms 300] [--allow-error DETAILS]... ' +
      '[--start-timeout-ms 10000] [--keep-samples] [--warmup-ms 0] [--spki HASH] [--force-quic HOST:PORT] ' +
      '[--pause AT_MS:FOR_MS]\n');
    process.exit(2);
  }
  let results;
  try {
    results = await playStreams({
      page: values.page, streams: values.stream, seconds, maxStallMs,
      allowErrors: values['allow-error'], startTimeoutMs, keepSamples: values['keep-samples'],
      warmupMs: Number(values['warmup-ms']), view: values.view ?? null,
      spki: values.spki ?? null, forceQuic: values['force-quic'] ?? null,
      pause: pauseMatch ? { atMs: Number(pauseMatch[1]), forMs: Number(pauseMatch[2]) } : null,
    });
  } catch (err) {
    // Chromium did not start, or the page could not be driven at all.
    const result = { ok: false, reasons: [err.message.split('\n')[0]], page: values.page, stream: values.stream, seconds };
    process.stdout.write(values.json === '-' ? `${JSON.stringify(result, null, 2)}\n` : `FAIL: ${result.reasons[0]}\n`);
    process.exit(1);
  }
  // One stream: its verdict; several: { ok, streams: [verdict...] }.
  const result = results.length === 1 ? results[0] : { ok: results.every((r) => r.ok), streams: results };
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (values.json === '-') {
    process.stdout.write(json);
  } else {
    if (values.json) await writeFile(values.json, json);
    process.stdout.write(`${results.map(formatPlayback).join('\n')}\n`);
  }
  process.exit(result.ok ? 0 : 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
