#!/usr/bin/env node
// LL-HLS conformance check of one live stream served by Mirror.
//
//   node tests/hls/llhls_check.mjs --url http://127.0.0.1:PORT/streams/NAME/index.m3u8 \
//        [--seconds 10] [--json] [--no-media]
//
// It reads the multivariant playlist, then follows every media playlist it
// names for --seconds the way a low-latency client does: blocking reloads
// for the next part (_HLS_msn/_HLS_part), plain reloads in between, delta
// updates (_HLS_skip) compared with full playlists, and the delivery
// directives a server must refuse. Every playlist goes through hls-parser in
// strict mode and through the rules of llhls_rules.mjs and
// llhls_timeline.mjs; every init section, part and segment is fetched once
// and their decode times are followed (llhls_media_timeline.mjs).
// Exit status: 0 when nothing was violated, 1 with the list of violations,
// 2 on a usage error.
//
// checkStream() is the same check as a function, for tests. Its result, and
// the output of --json:
//   ok          true when no rule was broken
//   url         the multivariant playlist checked
//   violations  [{ rule, section, url, line, text, message, occurrences }],
//               each distinct violation once (at most 25 per rule); `rule`
//               is a key of RULES in llhls_rules.mjs, `line`/`text` the
//               offending playlist line when there is one
//   stats       { seconds, playlistsChecked, segmentsSeen, partsSeen,
//               renditions: [{ url, type, reloads: { plain, blocking, delta },
//                 blockingWaitMs: { p50, p95, max }, segmentsSeen, partsSeen,
//                 mediaSequence: { first, last } }],
//               mediaFetched: { init, part, segment, failed },
//               blockingReloads: { count, waitMs: { p50, p95, max } },
//               deltaUpdatesChecked, directiveProbes, inconclusiveProbes,
//               parserQuirks: { name: count }, violations (distinct),
//               violationsByRule: { rule: distinct count } }

import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import {
  lastMsn, nextPartPosition, readPlaylist, satisfiesBlockingRequest, strictParse,
} from './llhls_playlist.mjs';
import {
  RULES, checkMediaPlaylist, checkMultivariant, checkRenditionReport, hasVideoCodec,
  checkRenditionReportCoverage, violation,
} from './llhls_rules.mjs';
import { RenditionTimeline, formatPosition } from './llhls_timeline.mjs';
import { compareDeltaUpdate } from './llhls_delta.mjs';
import { readInitSegment } from './llhls_fmp4.mjs';
import { MediaTimeline } from './llhls_media_timeline.mjs';

const PLAYLIST_TYPE = 'application/vnd.apple.mpegurl';
const PLAIN_TIMEOUT_MS = 5000;
const MEDIA_TIMEOUT_MS = 10000;
const MEDIA_CONCURRENCY = 4;
// Every fifth reload is a plain one (it also checks the rendition reports),
// and every tenth compares a delta update with the full playlist.
const PLAIN_RELOAD_EVERY = 5;
const DELTA_CHECK_EVERY = 10;
// A rule broken on every segment would drown the others; the count per
// rule stays exact.
const VIOLATIONS_KEPT_PER_RULE = 25;

// Checks the stream whose multivariant playlist is `url` for `seconds`.
// Returns { ok, violations, stats } (see StreamCheck.result).
export async function checkStream(url, { seconds = 10, fetchMedia = true } = {}) {
  const check = new StreamCheck(url, seconds * 1000, { fetchMedia });
  await check.run();
  return check.result();
}

class StreamCheck {
  constructor(url, durationMs, { fetchMedia }) {
    this.url = url;
    this.durationMs = durationMs;
    this.fetchMedia = fetchMedia;
    this.violations = [];
    this.distinct = new Map();
    this.byRule = {};
    this.renditions = [];
    this.background = [];
    this.media = new MediaProbe(this);
    this.stats = {
      playlistsChecked: 0,
      blockingWaitsMs: [],
      deltaUpdatesChecked: 0,
      directiveProbes: 0,
      inconclusiveProbes: 0,
      parserQuirks: {},
    };
  }

  // Keeps each distinct violation once, counting how often it was seen: a
  // playlist that breaks a rule usually breaks it on every reload. Distinct
  // means the same rule, playlist (without query), line text and message.
  report(list) {
    for (const v of list) {
      const key = JSON.stringify([v.rule, v.url.split('?')[0], v.text, v.message]);
      const known = this.distinct.get(key);
      if (known) {
        known.occurrences++;
        continue;
      }
      v.occurrences = 1;
      this.distinct.set(key, v);
      this.byRule[v.rule] = (this.byRule[v.rule] ?? 0) + 1;
      if (this.byRule[v.rule] <= VIOLATIONS_KEPT_PER_RULE) this.violations.push(v);
    }
  }

  async run() {
    const started = Date.now();
    if (!(await this.loadMultivariant())) return;
    const deadline = started + this.durationMs;
    await Promise.all(this.renditions.map((r) => this.followRendition(r, deadline)));
    await Promise.all(this.background);
    await this.media.drain();
    for (const r of this.renditions) this.report(r.media.check(this.media.inits, r.timeline));
  }

  // GET with a deadline. Resolves to { url, status, headers, body, ms } or
  // { url, error, ms }; never rejects.
  async request(url, timeoutMs) {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      const body = Buffer.from(await res.arrayBuffer());
      const t1 = performance.now();
      return { url, status: res.status, headers: res.headers, body, ms: t1 - t0, sentAt: t0, receivedAt: t1 };
    } catch (err) {
      const reason = err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : err.message;
      return { url, error: reason, ms: performance.now() - t0 };
    }
  }

  // The headers every successful answer needs: the expected Content-Type
  // (§4 names the playlist type; Mirror's contract the media types) and a
  // Cache-Control, which Mirror's contract asks of every answer.
  checkHeaders(res, expectedType) {
    const type = (res.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase();
    if (type !== expectedType) {
      this.report([violation('content-type', res.url, undefined, `Content-Type is "${type}", expected ${expectedType}`)]);
    }
    if (!res.headers.get('cache-control')) {
      this.report([violation('cache-control', res.url, undefined, 'the answer has no Cache-Control header')]);
    }
  }

  async loadMultivariant() {
    const res = await this.request(this.url, PLAIN_TIMEOUT_MS);
    if (res.error || res.status !== 200) {
      this.report([violation('http-status', this.url, undefined,
        res.error ? `request failed: ${res.error}` : `status ${res.status}, expected 200`)]);
      return false;
    }
    this.checkHeaders(res, PLAYLIST_TYPE);
    const text = res.body.toString('utf8');
    const playlist = readPlaylist(text);
    this.stats.playlistsChecked++;
    if (playlist.kind === 'invalid') {
      this.report([violation('parse-strict', this.url, undefined, playlist.error)]);
      return false;
    }
    this.noteStrictParse(text, playlist, this.url);
    if (playlist.kind === 'media') {
      // A media playlist given directly is followed on its own.
      this.renditions.push(this.newRendition(this.url, 'video'));
      return true;
    }
    this.report(checkMultivariant(playlist, this.url));
    const seen = new Set();
    const add = (uri, type) => {
      const abs = new URL(uri, this.url).href;
      if (seen.has(abs)) return;
      seen.add(abs);
      this.renditions.push(this.newRendition(abs, type));
    };
    for (const v of playlist.variants) if (v.uri) add(v.uri, hasVideoCodec(v.attrs.CODECS) ? 'video' : 'audio');
    // Mirror's renditions are fMP4 audio and video; subtitles would need
    // rules of their own.
    for (const m of playlist.media) {
      if (m.attrs.URI && (m.attrs.TYPE === 'AUDIO' || m.attrs.TYPE === 'VIDEO')) add(m.attrs.URI, m.attrs.TYPE.toLowerCase());
    }
    for (const r of this.renditions) r.others = this.renditions.filter((o) => o !== r).map((o) => o.url);
    return this.renditions.length > 0;
  }

  newRendition(url, type) {
    return {
      url,
      type,
      mediaType: type === 'audio' ? 'audio/mp4' : 'video/mp4',
      others: [],
      timeline: new RenditionTimeline(url),
      media: new MediaTimeline(),
      reloads: { plain: 0, blocking: 0, delta: 0 },
      blockingWaitsMs: [],
      firstMediaSequence: undefined,
      targetDuration: 6,
    };
  }

  noteStrictParse(text, playlist, url) {
    const strict = strictParse(text, playlist);
    for (const q of strict.quirks) this.stats.parserQuirks[q] = (this.stats.parserQuirks[q] ?? 0) + 1;
    if (!strict.ok) this.report([violation('parse-strict', url, undefined, strict.error)]);
  }

  // Fetches rendition `r` with delivery directives { msn, part, skip } and
  // runs every single-playlist rule on the answer. `ordered` marks the
  // answers of the rendition's sequential reload loop, the only ones whose
  // order means something. Returns { playlist, url, res } on a 200 answer,
  // { res } on a 503 to a blocking request, undefined otherwise.
  async fetchPlaylist(r, directives = {}, { ordered = false } = {}) {
    const u = new URL(r.url);
    if (directives.msn !== undefined) u.searchParams.set('_HLS_msn', String(directives.msn));
    if (directives.part !== undefined) u.searchParams.set('_HLS_part', String(directives.part));
    if (directives.skip) u.searchParams.set('_HLS_skip', directives.skip);
    const url = u.href;
    const blocking = directives.msn !== undefined;
    // A held request is answered within three Target Durations (§6.2.5.2).
    const res = await this.request(url, blocking ? r.targetDuration * 3000 + 2000 : PLAIN_TIMEOUT_MS);
    if (res.error || res.status !== 200) {
      // 503 is how a held request ends when no part came (§6.2.5.2); the
      // caller judges it.
      if (blocking && res.status === 503) return { res };
      this.report([violation('http-status', url, undefined,
        res.error ? `request failed: ${res.error}` : `status ${res.status}, expected 200`)]);
      return undefined;
    }
    if (blocking) {
      this.stats.blockingWaitsMs.push(res.ms);
      r.blockingWaitsMs.push(res.ms);
    }

    this.checkHeaders(res, PLAYLIST_TYPE);
    const text = res.body.toString('utf8');
    const playlist = readPlaylist(text);
    this.stats.playlistsChecked++;
    if (playlist.kind !== 'media') {
      this.report([violation('parse-strict', url, undefined, playlist.error ?? 'expected a media playlist')]);
      return undefined;
    }
    this.noteStrictParse(text, playlist, url);
    this.report(checkMediaPlaylist(playlist, url));
    if (playlist.skip && !directives.skip) {
      this.report([violation('delta-update', url, playlist.skip, 'EXT-X-SKIP in an answer to a request without _HLS_skip')]);
    }
    // A delta update is judged against the full playlist by
    // compareDeltaUpdate; recording it, or placing its media by its
    // numbers, would report a wrong skip count again, as renumbered
    // segments.
    if (!directives.skip) this.report(r.timeline.record(playlist, url, { sentAt: res.sentAt, receivedAt: res.receivedAt }));
    if (ordered) this.report(r.timeline.advance(playlist, url));
    this.report(checkRenditionReportCoverage(playlist, url, r.others));
    if (playlist.targetDuration?.value >= 1) r.targetDuration = playlist.targetDuration.value;
    r.firstMediaSequence ??= playlist.mediaSequence;
    r.lastMediaSequence = playlist.mediaSequence;
    if (this.fetchMedia && !directives.skip) this.queueMedia(r, playlist, url);
    return { playlist, url, res };
  }

  queueMedia(r, playlist, url) {
    for (const s of playlist.segments) {
      const initUrl = s.mapUri && new URL(s.mapUri, url).href;
      if (initUrl) this.media.add(initUrl, 'init', r.mediaType);
      for (const p of s.parts) {
        if (!p.uri || p.gap) continue;
        this.media.add(new URL(p.uri, url).href, 'part', r.mediaType, { r, initUrl, position: { msn: s.msn, part: p.index } });
      }
      if (s.complete && !s.gap) {
        this.media.add(new URL(s.uri, url).href, 'segment', r.mediaType, { r, initUrl, position: { msn: s.msn } });
      }
    }
  }

  // The reload loop of one rendition, as a low-latency client runs it.
  async followRendition(r, deadline) {
    let current = await this.fetchPlaylist(r, {}, { ordered: true });
    if (!current) return;
    r.reloads.plain++;
    this.background.push(this.probeDirectives(r));

    for (let round = 1; Date.now() < deadline && !current.playlist.endlist; round++) {
      const p = current.playlist;
      const blockingReload = p.serverControl?.attrs['CAN-BLOCK-RELOAD'] === 'YES';
      if (round % DELTA_CHECK_EVERY === 2 && p.serverControl?.attrs['CAN-SKIP-UNTIL'] !== undefined) {
        await this.checkDeltaUpdate(r, p);
      }
      if (!blockingReload || round % PLAIN_RELOAD_EVERY === 0) {
        // Without blocking reload a client polls; half a Target Duration is
        // the interval §6.3.4 allows after an unchanged playlist.
        if (!blockingReload) await sleep(Math.min(r.targetDuration * 500, deadline - Date.now()));
        const next = await this.fetchPlaylist(r, {}, { ordered: true });
        if (!next) break;
        r.reloads.plain++;
        await this.checkRenditionReports(r, next);
        current = next;
        continue;
      }
      const target = p.partTarget ? nextPartPosition(p) : { msn: lastMsn(p) + 1 };
      const next = await this.fetchPlaylist(r, { msn: target.msn, part: target.part }, { ordered: true });
      if (!next) break;
      if (!next.playlist) {
        this.report([violation('live-progress', next.res.url, undefined,
          `503 for ${formatPosition(target)}: no new part within 3 x ${r.targetDuration} s`)]);
        break;
      }
      r.reloads.blocking++;
      if (!satisfiesBlockingRequest(next.playlist, target)) {
        this.report([violation('blocking-reload', next.url, undefined,
          `asked for ${formatPosition(target)}, the answer ends before it`)]);
      }
      current = next;
    }
  }

  // §4.4.5.4: each report is checked against the reported rendition's own
  // playlist, fetched right after. A media playlist may be listed by more
  // than one multivariant playlist of the stream (Mirror's multiview.m3u8
  // lists the transcoded renditions of index.m3u8), so a report may name a
  // rendition this multivariant does not list: it must then still be a
  // media playlist in the stream's folder, and is checked the same way.
  async checkRenditionReports(r, current) {
    const streamFolder = new URL('.', this.url).href;
    for (const report of current.playlist.renditionReports) {
      if (!report.uri) continue;
      const targetUrl = new URL(report.uri, current.url).href;
      const target = this.renditions.find((o) => o.url === targetUrl);
      if (!target && targetUrl.startsWith(streamFolder)) {
        // Its own rules are checked with the multivariant that lists it;
        // here it only has to exist and bear the report out.
        const res = await this.request(targetUrl, PLAIN_TIMEOUT_MS);
        const unlisted = !res.error && res.status === 200 ? readPlaylist(res.body.toString('utf8')) : undefined;
        if (unlisted?.kind !== 'media') {
          this.report([violation('rendition-report', current.url, report, `${targetUrl} is no media playlist of this stream`)]);
          continue;
        }
        this.report(checkRenditionReport(current.playlist, current.url, report, unlisted, targetUrl));
        continue;
      }
      if (!target) {
        this.report([violation('rendition-report', current.url, report, `${targetUrl} is no rendition of this stream`)]);
        continue;
      }
      const fresh = await this.fetchPlaylist(target);
      if (!fresh) continue;
      this.report(checkRenditionReport(current.playlist, current.url, report, fresh.playlist, targetUrl));
    }
  }

  // Delta update and full playlist for the same next part, asked for at the
  // same moment so that the same new part releases both. If a further part
  // slips in between the two answers, try again.
  async checkDeltaUpdate(r, playlist) {
    let base = playlist;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const target = nextPartPosition(base);
      const [full, delta] = await Promise.all([
        this.fetchPlaylist(r, { msn: target.msn, part: target.part }),
        this.fetchPlaylist(r, { msn: target.msn, part: target.part, skip: 'YES' }),
      ]);
      // A 503 here means the stream stalled, which the reload loop reports.
      if (!full?.playlist || !delta?.playlist) return;
      r.reloads.delta++;
      const result = compareDeltaUpdate(delta.playlist, full.playlist, r.timeline, delta.url, full.url);
      if (!result.retry || attempt === 3) {
        this.report(result.violations);
        if (result.retry && result.reports) {
          this.report([violation('delta-update', delta.url, undefined,
            `rendition reports differ three times running: delta [${result.reports[0]}], full [${result.reports[1]}]`)]);
        }
        this.stats.deltaUpdatesChecked++;
        return;
      }
      base = full.playlist;
    }
  }

  // §6.2.5.2: directives a server must refuse with 400 rather than hold.
  // Mirror's errors carry a JSON body.
  async probeDirectives(r) {
    const fresh = await this.fetchPlaylist(r);
    if (!fresh || fresh.playlist.endlist) return;
    const last = lastMsn(fresh.playlist);
    const far = last + 3;
    const expect400 = async (rule, query, explain) => {
      const url = `${r.url}?${query}`;
      const res = await this.request(url, r.targetDuration * 3000 + 2000);
      this.stats.directiveProbes++;
      if (res.status === 400) {
        if (!isJson(res.body)) this.report([violation(rule, url, undefined, 'refused with 400, but the body is not JSON')]);
        return;
      }
      if (rule === 'msn-too-far' && res.status === 200) {
        // The stream may have moved on by a segment since `last` was read,
        // which brings `far` within reach; that says nothing either way.
        const answered = readPlaylist(res.body.toString('utf8'));
        if (answered.kind === 'media' && lastMsn(answered) >= far - 2) {
          this.stats.inconclusiveProbes++;
          return;
        }
      }
      const got = res.error ? res.error : `status ${res.status}`;
      this.report([violation(rule, url, undefined, `${explain}: expected 400, got ${got}`)]);
    };
    await expect400('msn-too-far', `_HLS_msn=${far}`, `the last segment is ${last}, so ${far} is more than 2 ahead`);
    await expect400('part-without-msn', '_HLS_part=1', '_HLS_part without _HLS_msn');
    await expect400('malformed-directive', '_HLS_msn=abc', '_HLS_msn is not a number');
  }

  result() {
    const waitSummary = (list) => {
      const sorted = list.slice().sort((a, b) => a - b);
      return { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), max: percentile(sorted, 1) };
    };
    const waits = this.stats.blockingWaitsMs;
    const renditions = this.renditions.map((r) => ({
      url: r.url,
      type: r.type,
      reloads: r.reloads,
      blockingWaitMs: waitSummary(r.blockingWaitsMs),
      segmentsSeen: r.timeline.segments.size,
      partsSeen: r.timeline.partsSeen,
      mediaSequence: { first: r.firstMediaSequence, last: r.lastMediaSequence },
    }));
    const total = Object.values(this.byRule).reduce((a, b) => a + b, 0);
    return {
      ok: total === 0,
      url: this.url,
      violations: this.violations,
      stats: {
        seconds: this.durationMs / 1000,
        playlistsChecked: this.stats.playlistsChecked,
        renditions,
        segmentsSeen: renditions.reduce((a, r) => a + r.segmentsSeen, 0),
        partsSeen: renditions.reduce((a, r) => a + r.partsSeen, 0),
        mediaFetched: this.media.counts,
        blockingReloads: {
          count: waits.length,
          waitMs: waitSummary(waits),
        },
        deltaUpdatesChecked: this.stats.deltaUpdatesChecked,
        directiveProbes: this.stats.directiveProbes,
        inconclusiveProbes: this.stats.inconclusiveProbes,
        parserQuirks: this.stats.parserQuirks,
        violations: total,
        violationsByRule: this.byRule,
      },
    };
  }
}

// Fetches every init section, part and segment once, a few at a time.
// §3.1.2: fMP4 media starts with an ISO BMFF box: 'ftyp' for an init
// section, 'styp' or 'moof' for a part or segment.
class MediaProbe {
  constructor(check) {
    this.check = check;
    this.seen = new Set();
    this.queue = [];
    this.running = 0;
    this.idle = [];
    this.counts = { init: 0, part: 0, segment: 0, failed: 0 };
    // init URL -> readInitSegment result
    this.inits = new Map();
  }

  // `context` ({ r, initUrl, position }) places a part or segment on its
  // rendition's media timeline.
  add(url, kind, mediaType, context) {
    if (this.seen.has(url)) return;
    this.seen.add(url);
    this.queue.push({ url, kind, mediaType, context });
    this.pump();
  }

  pump() {
    while (this.running < MEDIA_CONCURRENCY && this.queue.length > 0) {
      const job = this.queue.shift();
      this.running++;
      this.probe(job).finally(() => {
        this.running--;
        this.pump();
        if (this.running === 0 && this.queue.length === 0) this.idle.splice(0).forEach((resolve) => resolve());
      });
    }
  }

  drain() {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  async probe({ url, kind, mediaType, context }) {
    const s = this.check;
    const res = await s.request(url, MEDIA_TIMEOUT_MS);
    if (res.error || res.status !== 200) {
      this.counts.failed++;
      s.report([violation('http-status', url, undefined,
        `${kind}: ${res.error ? `request failed: ${res.error}` : `status ${res.status}, expected 200`}`)]);
      return;
    }
    this.counts[kind]++;
    s.checkHeaders(res, mediaType);
    const problem = firstBoxProblem(res.body, kind === 'init' ? ['ftyp'] : ['styp', 'moof']);
    if (problem) {
      s.report([violation('media-body', url, undefined, `${kind}: ${problem}`)]);
      return;
    }
    if (kind === 'init') {
      const init = readInitSegment(res.body);
      if (init.error || init.tracks.size === 0) {
        s.report([violation('media-body', url, undefined, `init: ${init.error ?? 'no trak in moov'}`)]);
      }
      this.inits.set(url, init);
    } else if (context) {
      // Read at the end of the run, once every init section is in.
      context.r.media.record(context.position, url, res.body, context.initUrl);
    }
  }
}

// Why `body` does not start with one of the `types` of ISO BMFF box, or ''.
function firstBoxProblem(body, types) {
  if (body.length === 0) return 'the body is empty';
  if (body.length < 8) return `the body has only ${body.length} bytes`;
  const size = body.readUInt32BE(0);
  const type = body.toString('latin1', 4, 8);
  if (!types.includes(type)) return `the first box is '${type}', expected ${types.map((t) => `'${t}'`).join(' or ')}`;
  // Size 1 announces a 64-bit size; 0 means "to the end of the file".
  if (size !== 0 && size !== 1 && (size < 8 || size > body.length)) {
    return `the first box '${type}' claims ${size} bytes of a ${body.length}-byte body`;
  }
  return '';
}

function isJson(body) {
  try {
    JSON.parse(body.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

function percentile(sorted, q) {
  if (sorted.length === 0) return null;
  const v = sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return Math.round(v * 10) / 10;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

// The report for people: a summary line, then the violations grouped by
// rule, a few of each.
export function formatReport(result, shownPerRule = 5) {
  const s = result.stats;
  const w = s.blockingReloads.waitMs;
  const lines = [
    `LL-HLS check of ${result.url} for ${s.seconds} s: ${s.renditions.length} renditions, ` +
      `${s.playlistsChecked} playlists, ${s.segmentsSeen} segments, ${s.partsSeen} parts, ` +
      `${s.blockingReloads.count} blocking reloads (wait p50 ${w.p50} ms, p95 ${w.p95} ms, max ${w.max} ms), ` +
      `${s.deltaUpdatesChecked} delta updates, media fetched ${JSON.stringify(s.mediaFetched)}`,
  ];
  if (result.ok) {
    lines.push('OK: no violations');
    return lines.join('\n');
  }
  const rules = Object.keys(s.violationsByRule);
  lines.push(`FAIL: ${s.violations} violations of ${rules.length} rules`);
  for (const rule of rules) {
    lines.push(`[${rule}] ${RULES[rule]}: ${s.violationsByRule[rule]} distinct`);
    const list = result.violations.filter((v) => v.rule === rule);
    for (const v of list.slice(0, shownPerRule)) {
      lines.push(`  ${v.url}${v.line ? ` line ${v.line}: ${v.text}` : ''}`);
      lines.push(`    ${v.message}${v.occurrences > 1 ? ` (seen ${v.occurrences} times)` : ''}`);
    }
    if (s.violationsByRule[rule] > shownPerRule) lines.push(`  ... and ${s.violationsByRule[rule] - shownPerRule} more`);
  }
  return lines.join('\n');
}

async function main() {
  let args;
  try {
    args = parseArgs({
      options: {
        url: { type: 'string' },
        seconds: { type: 'string', default: '10' },
        json: { type: 'boolean', default: false },
        'no-media': { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    args = { error: err.message };
  }
  const seconds = Number(args.seconds);
  if (args.error || !args.url || !(seconds > 0)) {
    process.stderr.write(`${args.error ? `${args.error}\n` : ''}usage: node tests/hls/llhls_check.mjs ` +
      '--url http://HOST:PORT/streams/NAME/index.m3u8 [--seconds 10] [--json] [--no-media]\n');
    process.exit(2);
  }
  const result = await checkStream(args.url, { seconds, fetchMedia: !args['no-media'] });
  process.stdout.write(args.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatReport(result)}\n`);
  process.exit(result.ok ? 0 : 1);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
