// Self-test of the LL-HLS checker: a simulated live origin on 127.0.0.1
// serves a stream laid out like Mirror's (/streams/demo/index.m3u8 with a
// `source` and an `audio` rendition), and the checker must pass it when it
// is right and name the broken rule for each fault planted in it.
//
//   node --test tests/hls/

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { checkStream } from './llhls_check.mjs';
import { readPlaylist, strictParse } from './llhls_playlist.mjs';
import { checkMediaPlaylist } from './llhls_rules.mjs';
import { RenditionTimeline } from './llhls_timeline.mjs';

const PART_TARGET = 0.1;
const PARTS_PER_SEGMENT = 10;
const TARGET_DURATION = 1;
const SKIP_UNTIL = 6 * TARGET_DURATION;
const WINDOW_SEGMENTS = 12;
// Each rendition carries one track (ID 1) of fMP4 media.
const RENDITIONS = {
  source: { type: 'video/mp4', handler: 'vide', timescale: 90000, samplesPerPart: 3 },
  audio: { type: 'audio/mp4', handler: 'soun', timescale: 48000, samplesPerPart: 5 },
};

// A live stream computed from the clock: part i of segment n is published
// when the stream time passes its end. Segment n's duration is the sum of
// its parts, and every playlist, blocking answer and delta update is
// derived from that one timeline, so a fault planted in one place (a part's
// duration, a date) shows everywhere it would on a real origin.
class SimulatedLiveStream {
  constructor(faults = {}, startedSecondsAgo = 15) {
    this.faults = faults;
    this.epochMs = Date.now() - startedSecondsAgo * 1000;
    this.segments = []; // { msn, start, duration, parts: [{ start, duration, end }] }
  }

  partDuration(msn, index) {
    if (this.faults.longPart && index === 3) return 0.104;
    if (this.faults.shortPart && index === 4) return 0.05;
    return PART_TARGET;
  }

  segment(msn) {
    while (this.segments.length <= msn) {
      const n = this.segments.length;
      const start = n === 0 ? 0 : this.segments[n - 1].start + this.segments[n - 1].duration;
      const parts = [];
      let t = start;
      for (let i = 0; i < PARTS_PER_SEGMENT; i++) {
        const duration = this.partDuration(n, i);
        parts.push({ start: t, duration, end: t + duration });
        t += duration;
      }
      this.segments.push({ msn: n, start, duration: t - start, parts });
    }
    return this.segments[msn];
  }

  // Stream time in seconds.
  now() {
    return (Date.now() - this.epochMs) / 1000;
  }

  // { complete: [segments], current: { msn, parts } } at stream time t.
  state(t) {
    const complete = [];
    let msn = 0;
    while (this.segment(msn).start + this.segment(msn).duration <= t) complete.push(this.segment(msn++));
    const open = this.segment(msn);
    return { complete, current: { msn, parts: open.parts.filter((p) => p.end <= t) } };
  }

  // When part `index` of segment `msn` is out (index past the end of the
  // segment means part 0 of the next one, as §6.2.5.2 asks), or segment
  // `msn` complete when index is undefined.
  availableAt(msn, index) {
    const s = this.segment(msn);
    if (index === undefined) return s.start + s.duration;
    if (index >= s.parts.length) return this.segment(msn + 1).parts[0].end;
    return s.parts[index].end;
  }

  pdt(segment) {
    const drift = this.faults.driftingPdt ? segment.msn * 0.005 : 0;
    return new Date(this.epochMs + (segment.start + drift) * 1000).toISOString();
  }

  mediaPlaylist(rendition, t, skipRequested) {
    const { complete, current } = this.state(t);
    const window = complete.slice(-WINDOW_SEGMENTS);
    const partHoldBack = this.faults.smallPartHoldBack ? 2 * PART_TARGET : 3 * PART_TARGET;
    const lines = [
      '#EXTM3U',
      '#EXT-X-VERSION:9',
      `#EXT-X-TARGETDURATION:${TARGET_DURATION}`,
      `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=${SKIP_UNTIL.toFixed(1)},` +
        `HOLD-BACK=${(3 * TARGET_DURATION).toFixed(1)},PART-HOLD-BACK=${partHoldBack.toFixed(3)}`,
      `#EXT-X-PART-INF:PART-TARGET=${PART_TARGET.toFixed(3)}`,
      `#EXT-X-MEDIA-SEQUENCE:${window[0].msn}`,
      '#EXT-X-MAP:URI="init-0.mp4"',
    ];
    const total = window.reduce((a, s) => a + s.duration, 0) + current.parts.reduce((a, p) => a + p.duration, 0);
    let skipped = 0;
    if (skipRequested) {
      // Segments wholly before the Skip Boundary may be skipped.
      let end = 0;
      for (const s of window) {
        end += s.duration;
        if (total - end < SKIP_UNTIL) break;
        skipped++;
      }
      const written = this.faults.deltaMismatch ? skipped - 1 : skipped;
      lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${written}`);
    }
    const partLine = (msn, i, p) =>
      `#EXT-X-PART:DURATION=${p.duration.toFixed(5)},URI="part-${msn}.${i}.m4s"${i === 0 ? ',INDEPENDENT=YES' : ''}`;
    window.slice(skipped).forEach((s, i, listed) => {
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${this.pdt(s)}`);
      // Parts stay listed for the two newest segments and the open one.
      if (i >= listed.length - 2) s.parts.forEach((p, k) => lines.push(partLine(s.msn, k, p)));
      lines.push(`#EXTINF:${s.duration.toFixed(5)},`, `seg-${s.msn}.m4s`);
    });
    if (current.parts.length > 0) {
      lines.push(`#EXT-X-PROGRAM-DATE-TIME:${this.pdt(this.segment(current.msn))}`);
      current.parts.forEach((p, k) => lines.push(partLine(current.msn, k, p)));
    }
    if (!this.faults.noPreloadHint) {
      lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-${current.msn}.${current.parts.length}.m4s"`);
    }
    const other = rendition === 'source' ? 'audio' : 'source';
    const last = current.parts.length > 0
      ? `LAST-MSN=${current.msn},LAST-PART=${current.parts.length - 1}`
      : `LAST-MSN=${current.msn - 1},LAST-PART=${PARTS_PER_SEGMENT - 1}`;
    lines.push(`#EXT-X-RENDITION-REPORT:URI="../${other}/playlist.m3u8",${last}`);
    return `${lines.join('\n')}\n`;
  }

  // A part's media: its samples, placed at its start on the track's
  // timeline. Ticks are rounded from the stream times, so parts join
  // exactly.
  partBody(rendition, msn, index) {
    const { timescale, samplesPerPart } = RENDITIONS[rendition];
    const p = this.segment(msn).parts[index];
    const start = Math.round(p.start * timescale);
    const ticks = Math.round(p.end * timescale) - start;
    const shift = this.faults.audioGap && rendition === 'audio' && index === 6 ? Math.round(0.04 * timescale) : 0;
    return fragment(start + shift, ticks, samplesPerPart);
  }

  // A segment is its parts one after the other, as CMAF chunks are.
  segmentBody(rendition, msn) {
    return Buffer.concat(this.segment(msn).parts.map((_, i) => this.partBody(rendition, msn, i)));
  }

  lastMsn(t) {
    const { current } = this.state(t);
    return current.parts.length > 0 ? current.msn : current.msn - 1;
  }
}

const MULTIVARIANT = [
  '#EXTM3U',
  '#EXT-X-VERSION:6',
  '#EXT-X-INDEPENDENT-SEGMENTS',
  '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,URI="audio/playlist.m3u8"',
  '#EXT-X-STREAM-INF:BANDWIDTH=800000,AVERAGE-BANDWIDTH=700000,CODECS="avc1.64001f,mp4a.40.2",' +
    'RESOLUTION=640x360,FRAME-RATE=25.000,AUDIO="audio"',
  'source/playlist.m3u8',
  '',
].join('\n');

// Minimal fMP4 (ISO/IEC 14496-12): enough boxes for the checker to read
// timescales, decode times and sample durations.
function box(type, ...payload) {
  const body = Buffer.concat(payload);
  const header = Buffer.alloc(8);
  header.writeUInt32BE(8 + body.length, 0);
  header.write(type, 4, 'latin1');
  return Buffer.concat([header, body]);
}

function u32(...values) {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v, 4 * i));
  return b;
}

function initSection({ handler, timescale }) {
  return Buffer.concat([
    box('ftyp', Buffer.from('iso6'), u32(0), Buffer.from('iso6cmfc')),
    box('moov', box('trak',
      box('tkhd', u32(0, 0, 0, 1, 0, 0)),
      box('mdia', box('mdhd', u32(0, 0, 0, timescale, 0, 0)), box('hdlr', u32(0, 0), Buffer.from(handler))))),
  ]);
}

// One moof+mdat for track 1: `ticks` split over `samples` samples from
// decode time `start`.
function fragment(start, ticks, samples) {
  const durations = Array.from({ length: samples }, (_, i) =>
    Math.floor(((i + 1) * ticks) / samples) - Math.floor((i * ticks) / samples));
  const tfdt = Buffer.alloc(12);
  tfdt.writeUInt32BE(0x01000000, 0);
  tfdt.writeBigUInt64BE(BigInt(start), 4);
  return Buffer.concat([
    box('moof', box('mfhd', u32(0, 1)), box('traf',
      box('tfhd', u32(0x020000, 1)), box('tfdt', tfdt), box('trun', u32(0x000100, samples), u32(...durations)))),
    box('mdat', Buffer.alloc(8)),
  ]);
}

// Serves `stream` under /streams/demo/ the way Mirror's contract lays out:
// blocking reloads, delta updates, 400 with a JSON body for bad directives,
// 503 after 3 Target Durations. Resolves to { url, close }.
async function serve(stream) {
  const timers = new Set();
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const send = (status, type, body) => {
      res.writeHead(status, { 'Content-Type': type, 'Cache-Control': status === 200 ? 'max-age=1' : 'no-store' });
      res.end(body);
    };
    const fail = (status, message) =>
      send(status, 'application/json', JSON.stringify({ code: 'INVALID_INPUT', message, details: {} }));
    if (u.pathname === '/streams/demo/index.m3u8') return send(200, 'application/vnd.apple.mpegurl', MULTIVARIANT);
    const m = u.pathname.match(/^\/streams\/demo\/(source|audio)\/(.+)$/);
    if (!m) return fail(404, 'not found');
    const [, rendition, file] = m;
    if (file === 'playlist.m3u8') {
      const msnText = u.searchParams.get('_HLS_msn');
      const partText = u.searchParams.get('_HLS_part');
      const skip = ['YES', 'v2'].includes(u.searchParams.get('_HLS_skip'));
      const answer = () => send(200, 'application/vnd.apple.mpegurl', stream.mediaPlaylist(rendition, stream.now(), skip));
      if (msnText === null) return partText === null ? answer() : fail(400, '_HLS_part without _HLS_msn');
      if (!/^\d+$/.test(msnText) || (partText !== null && !/^\d+$/.test(partText))) return fail(400, 'malformed');
      const msn = Number(msnText);
      const part = partText === null ? undefined : Number(partText);
      if (msn > stream.lastMsn(stream.now()) + 2) {
        if (stream.faults.acceptFarMsn) return answer();
        return fail(400, '_HLS_msn is more than two segments ahead');
      }
      const wait = stream.availableAt(msn, part) - stream.now();
      if (wait <= 0) return answer();
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (wait > 3 * TARGET_DURATION) fail(503, 'no such part yet');
        else answer();
      }, Math.min(wait, 3 * TARGET_DURATION) * 1000 + 2);
      timers.add(timer);
      return undefined;
    }
    const { type } = RENDITIONS[rendition];
    if (file === 'init-0.mp4') return send(200, type, initSection(RENDITIONS[rendition]));
    const media = file.match(/^(?:seg-(\d+)|part-(\d+)\.(\d+))\.m4s$/);
    if (!media) return fail(404, 'not found');
    if (media[1] !== undefined) {
      const msn = Number(media[1]);
      if (stream.availableAt(msn) > stream.now()) return fail(404, 'not yet');
      return send(200, type, stream.segmentBody(rendition, msn));
    }
    const [msn, index] = [Number(media[2]), Number(media[3])];
    if (stream.availableAt(msn, index) > stream.now()) return fail(404, 'not yet');
    return send(200, type, stream.partBody(rendition, msn, index));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/streams/demo/index.m3u8`,
    close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

async function check(faults) {
  const origin = await serve(new SimulatedLiveStream(faults));
  try {
    return await checkStream(origin.url, { seconds: 2.5 });
  } finally {
    await origin.close();
  }
}

const rulesOf = (result) => new Set(result.violations.map((v) => v.rule));

describe('llhls_check against a simulated live origin', { concurrency: true }, () => {
  it('passes a conforming stream', async () => {
    const result = await check({});
    assert.deepEqual(result.violations, []);
    assert.equal(result.ok, true);
    const s = result.stats;
    assert.equal(s.renditions.length, 2);
    assert.ok(s.partsSeen > 20, `parts seen: ${s.partsSeen}`);
    assert.ok(s.blockingReloads.count > 10, `blocking reloads: ${s.blockingReloads.count}`);
    // Held requests end when their part appears, not at the 3 s deadline.
    assert.ok(s.blockingReloads.waitMs.max < 3000 * TARGET_DURATION, `longest blocking wait: ${s.blockingReloads.waitMs.max} ms`);
    assert.ok(s.deltaUpdatesChecked >= 2, `delta updates: ${s.deltaUpdatesChecked}`);
    assert.equal(s.directiveProbes, 6);
    assert.ok(s.mediaFetched.init === 2 && s.mediaFetched.part > 20 && s.mediaFetched.segment > 20);
  });

  // Each planted fault must be named by its rule. hls-parser in strict mode
  // refuses some of them too ('parse-strict'); no other rule may fire.
  const faults = [
    ['a part longer than PART-TARGET', { longPart: true }, 'part-duration-max'],
    ['a short part that is not the last of its segment', { shortPart: true }, 'part-duration-min'],
    ['a live playlist without preload hint', { noPreloadHint: true }, 'preload-hint'],
    ['PART-HOLD-BACK of only 2 x PART-TARGET', { smallPartHoldBack: true }, 'part-hold-back'],
    ['dates drifting from the EXTINF durations', { driftingPdt: true }, 'program-date-time'],
    ['_HLS_msn three past the end answered instead of refused', { acceptFarMsn: true }, 'msn-too-far'],
    ['a delta update that skips one segment more than it says', { deltaMismatch: true }, 'delta-update'],
    ['audio decode times that jump 40 ms inside each segment', { audioGap: true }, 'media-timeline'],
  ];
  for (const [name, fault, rule] of faults) {
    it(`names ${rule} for ${name}`, async () => {
      const result = await check(fault);
      const rules = rulesOf(result);
      assert.equal(result.ok, false);
      assert.ok(rules.has(rule), `expected ${rule}, got ${[...rules].join(', ') || 'nothing'}`);
      for (const other of rules) {
        assert.ok(other === rule || other === 'parse-strict', `unexpected ${other}: ${JSON.stringify(result.violations.find((v) => v.rule === other))}`);
      }
      const v = result.violations.find((x) => x.rule === rule);
      assert.match(v.url, /^http:\/\/127\.0\.0\.1:\d+\/streams\/demo\//);
      assert.ok(v.message.length > 0 && v.section.length > 0);
    });
  }
});

describe('hls-parser strictness', () => {
  const stream = new SimulatedLiveStream({}, 20);
  const lines = stream.mediaPlaylist('source', 20.55, false).split('\n');

  it('accepts a conforming LL-HLS playlist', () => {
    assert.deepEqual(strictParse(lines.join('\n')), { ok: true, quirks: [] });
  });

  it('lets a short INDEPENDENT=YES part through to the draft rule, which allows it', () => {
    // Part 0 of the open segment, independent and short, followed by a
    // full one: legal by §4.4.4.9, refused by hls-parser's blanket rule.
    const text = lines.join('\n')
      .replace(/DURATION=0\.10000,URI="part-20\.0\.m4s"/, 'DURATION=0.04000,URI="part-20.0.m4s"');
    const result = strictParse(text);
    assert.deepEqual(result, { ok: true, quirks: ['short-exempt-part'] });
    assert.deepEqual(checkMediaPlaylist(readPlaylist(text), 'http://x/').map((v) => v.rule), []);
  });

  it('still refuses what the draft refuses', () => {
    const text = lines.join('\n').replace('PART-HOLD-BACK=0.300', 'PART-HOLD-BACK=0.050');
    assert.equal(strictParse(text).ok, false);
  });
});

// Playlists fetched at the same time may arrive in either order: only one
// asked for after another arrived is newer than it.
describe('rendition timeline ordering', () => {
  const header = ['#EXTM3U', '#EXT-X-VERSION:9', '#EXT-X-TARGETDURATION:1', '#EXT-X-PART-INF:PART-TARGET=0.5',
    '#EXT-X-MEDIA-SEQUENCE:4', '#EXT-X-MAP:URI="init-0.mp4"', '#EXTINF:1.0,', 'seg-4.m4s'];
  const writing = readPlaylist([...header,
    '#EXT-X-PART:DURATION=0.5,URI="part-5.0.m4s",INDEPENDENT=YES', ''].join('\n'));
  const complete = readPlaylist([...header,
    '#EXT-X-PART:DURATION=0.5,URI="part-5.0.m4s",INDEPENDENT=YES', '#EXT-X-PART:DURATION=0.5,URI="part-5.1.m4s"',
    '#EXTINF:1.0,', 'seg-5.m4s', ''].join('\n'));
  const url = 'http://127.0.0.1:1/streams/demo/source/playlist.m3u8';

  it('accepts an older answer that arrives after a newer one', () => {
    const timeline = new RenditionTimeline(url);
    assert.deepEqual(timeline.record(complete, url, { sentAt: 10, receivedAt: 20 }), []);
    assert.deepEqual(timeline.record(writing, url, { sentAt: 5, receivedAt: 30 }), []);
  });

  it('names a segment that is unfinished again in a later answer', () => {
    const timeline = new RenditionTimeline(url);
    assert.deepEqual(timeline.record(complete, url, { sentAt: 10, receivedAt: 20 }), []);
    const out = timeline.record(writing, url, { sentAt: 25, receivedAt: 30 });
    assert.deepEqual(out.map((v) => v.rule).sort(), ['part-stable', 'segment-stable']);
  });
});
