// The media inside one rendition's parts and segments, checked against
// itself and against the playlists: decode times run on without gaps or
// overlaps from part to part and from segment to segment, a segment holds
// the same media as its parts, and DURATION and EXTINF say how long the
// media really lasts. A player fed a gap stalls at it (hls.js reports
// bufferStalledError and then seeks over the hole), so these rules catch
// in the checker what the browser test would only see as stalls.

import { violation } from './llhls_rules.mjs';
import { readMediaFragments } from './llhls_fmp4.mjs';

// Written durations have five decimals; one millisecond also absorbs a
// timescale that does not divide a second evenly.
const DURATION_TOLERANCE_S = 0.001;

export class MediaTimeline {
  constructor() {
    // 'msn.part' or 'msn' -> { url, body, initUrl, msn, part }
    this.bodies = new Map();
  }

  record({ msn, part }, url, body, initUrl) {
    this.bodies.set(part === undefined ? `${msn}` : `${msn}.${part}`, { url, body, initUrl, msn, part });
  }

  // `inits` maps init URLs to readInitSegment results; `playlists` is the
  // rendition's RenditionTimeline (DURATION, EXTINF, discontinuities).
  check(inits, playlists) {
    const out = [];
    const media = new Map();
    for (const [key, job] of this.bodies) {
      const init = inits.get(job.initUrl);
      if (!init || init.error || init.tracks.size === 0) continue;
      const read = readMediaFragments(job.body, init);
      const what = job.part === undefined ? `segment ${job.msn}` : `part ${job.msn}.${job.part}`;
      if (read.error || read.tracks.size === 0) {
        out.push(violation('media-body', job.url, undefined, `${what}: ${read.error ?? 'no track fragment (traf) in it'}`));
        continue;
      }
      for (const gap of read.gaps) {
        const ts = init.tracks.get(gap.trackId)?.timescale;
        out.push(violation('media-timeline', job.url, undefined,
          `${what}, track ${gap.trackId}: a fragment starts at ${gap.found}, ${describeJump(gap.found - gap.expected, ts)} ` +
          `the end of the one before it (${gap.expected}): ${kind(gap.found - gap.expected)}`));
      }
      media.set(key, { ...job, read, init, what });
    }

    for (const m of media.values()) {
      if (m.part === undefined) this.checkSegment(m, media, playlists, out);
      else this.checkPart(m, media, playlists, out);
    }
    return out;
  }

  // A part lasts what its DURATION says, and the next part (of this segment
  // or, after the last one, part 0 of the next segment) starts where it
  // ends.
  checkPart(m, media, playlists, out) {
    const listed = playlists.parts.get(m.msn);
    const declared = listed?.list[m.part]?.duration;
    const primary = primaryTrack(m.init);
    const own = m.read.tracks.get(primary);
    if (own && declared !== undefined) {
      const seconds = own.duration / m.init.tracks.get(primary).timescale;
      if (Math.abs(seconds - declared) > DURATION_TOLERANCE_S) {
        out.push(violation('media-timeline', m.url, undefined,
          `${m.what}: DURATION=${declared} but its ${m.init.tracks.get(primary).handler} samples last ${round(seconds)} s`));
      }
    }
    let next = media.get(`${m.msn}.${m.part + 1}`);
    if (!next && listed?.finalCount === m.part + 1 && !playlists.parts.get(m.msn + 1)?.discontinuity) {
      next = media.get(`${m.msn + 1}.0`);
    }
    if (next) follows(m, next, out);
  }

  // A segment starts with its first part and ends with its last, lasts its
  // EXTINF, and the next segment starts where it ends.
  checkSegment(m, media, playlists, out) {
    const listed = playlists.parts.get(m.msn);
    const first = media.get(`${m.msn}.0`);
    const last = listed?.finalCount ? media.get(`${m.msn}.${listed.finalCount - 1}`) : undefined;
    for (const [trackId, t] of m.read.tracks) {
      const ts = m.init.tracks.get(trackId)?.timescale;
      const f = first?.read.tracks.get(trackId);
      const l = last?.read.tracks.get(trackId);
      if (f && f.start !== t.start) {
        out.push(violation('media-timeline', m.url, undefined,
          `${m.what}, track ${trackId}: starts at ${t.start}, ${describeJump(t.start - f.start, ts)} its part 0 (${f.start})`));
      }
      if (l && l.start + l.duration !== t.start + t.duration) {
        out.push(violation('media-timeline', m.url, undefined,
          `${m.what}, track ${trackId}: ends at ${t.start + t.duration}, its last part at ${l.start + l.duration}`));
      }
    }
    const extinf = playlists.segments.get(m.msn)?.duration;
    const primary = primaryTrack(m.init);
    const own = m.read.tracks.get(primary);
    if (own && extinf !== undefined) {
      const seconds = own.duration / m.init.tracks.get(primary).timescale;
      if (Math.abs(seconds - extinf) > DURATION_TOLERANCE_S) {
        out.push(violation('media-timeline', m.url, undefined,
          `${m.what}: EXTINF ${extinf} but its ${m.init.tracks.get(primary).handler} samples last ${round(seconds)} s`));
      }
    }
    const next = media.get(`${m.msn + 1}`);
    if (next && !playlists.segments.get(m.msn + 1)?.discontinuity) follows(m, next, out);
  }
}

// Reports each track of `next` that does not start where `prev` ends.
function follows(prev, next, out) {
  for (const [trackId, p] of prev.read.tracks) {
    const n = next.read.tracks.get(trackId);
    if (!n) continue;
    const end = p.start + p.duration;
    if (n.start !== end) {
      const ts = prev.init.tracks.get(trackId)?.timescale;
      out.push(violation('media-timeline', next.url, undefined,
        `${next.what}, track ${trackId} (${prev.init.tracks.get(trackId)?.handler}): starts at ${n.start}, ` +
        `${describeJump(n.start - end, ts)} the end of ${prev.what} (${end}): ${kind(n.start - end)}`));
    }
  }
}

// The track DURATION and EXTINF describe: video when there is any.
function primaryTrack(init) {
  let first;
  for (const [id, t] of init.tracks) {
    if (t.handler === 'vide') return id;
    first ??= id;
  }
  return first;
}

// '2048 ticks (42.667 ms) after: a gap' or '... before: an overlap'.
function describeJump(ticks, timescale) {
  const ms = timescale ? ` (${round((Math.abs(ticks) / timescale) * 1000)} ms)` : '';
  return ticks > 0 ? `${ticks} ticks${ms} after` : `${-ticks} ticks${ms} before`;
}

function kind(ticks) {
  return ticks > 0 ? 'a gap' : 'an overlap';
}

function round(x) {
  return Math.round(x * 100000) / 100000;
}
