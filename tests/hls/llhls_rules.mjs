// The rules one playlist must follow on its own, checked on the model of
// llhls_playlist.mjs. Rules that need several reloads live in
// llhls_timeline.mjs, rules that need HTTP in llhls_check.mjs. Section
// numbers refer to draft-pantos-hls-rfc8216bis; where Mirror's contract is
// stricter than the draft, the comment says so.

import { decimal, lastPartPosition, lastMsn, playlistDuration } from './llhls_playlist.mjs';

// Every rule the checker can report, with the section it enforces. Tests
// and the command line name violations by these keys.
export const RULES = {
  'parse-strict': 'hls-parser strict mode (§4)',
  'http-status': 'HTTP status of a playlist or media request',
  'content-type': 'Content-Type (§4, Mirror contract)',
  'cache-control': 'Cache-Control on every answer (Mirror contract)',
  'media-body': 'ISO BMFF body of init sections, parts and segments (§3.1.2)',
  'media-timeline': 'fMP4 decode times continue without gaps and match DURATION and EXTINF (§3.1.2, §4.4.4.1, §4.4.4.9)',
  'version': 'EXT-X-VERSION (§4.4.1.2, §8)',
  'repeated-tag': 'one Media Playlist tag of each type (§4.4.3)',
  'target-duration': 'EXT-X-TARGETDURATION bounds EXTINF (§4.4.3.1, §4.4.4.1)',
  'target-duration-stable': 'EXT-X-TARGETDURATION never changes (§6.2.1)',
  'segment-independent': 'the first part of every segment is INDEPENDENT=YES (Mirror contract: segments start on a random-access picture)',
  'part-inf': 'EXT-X-PART-INF required with parts (§4.4.3.7)',
  'server-control': 'EXT-X-SERVER-CONTROL with CAN-BLOCK-RELOAD=YES (§4.4.3.8, Mirror contract)',
  'part-hold-back': 'PART-HOLD-BACK present and >= 3 x PART-TARGET (§4.4.3.8)',
  'hold-back': 'HOLD-BACK >= 3 x Target Duration (§4.4.3.8)',
  'can-skip-until': 'CAN-SKIP-UNTIL >= 6 x Target Duration (§4.4.3.8)',
  'part-attributes': 'EXT-X-PART URI and DURATION (§4.4.4.9)',
  'part-duration-max': 'part DURATION <= PART-TARGET (§4.4.4.9)',
  'part-duration-min': 'non-final part >= 85 % of PART-TARGET (§4.4.4.9)',
  'part-tag-order': 'segment tags before the first EXT-X-PART (§4.4.4.9)',
  'part-window': 'parts listed only within 3 Target Durations of the end (§6.2.2)',
  'part-sum': 'parts of a completed segment add up to its EXTINF (§4.4.4.9)',
  'program-date-time': 'EXT-X-PROGRAM-DATE-TIME follows EXTINF (§4.4.4.6, §6.2.1)',
  'preload-hint': 'one EXT-X-PRELOAD-HINT TYPE=PART in a live playlist, none after ENDLIST (§4.4.5.3)',
  'preload-hint-uri': 'the hinted URI is the next part added (§4.4.5.3)',
  'media-sequence': 'EXT-X-MEDIA-SEQUENCE never decreases (§6.2.1)',
  'live-edge': 'a later reload never ends before an earlier one (§6.2.1)',
  'segment-stable': 'a Media Sequence Number keeps its URI, EXTINF and date (§6.2.1)',
  'part-stable': 'a part keeps its URI, DURATION and INDEPENDENT (§6.2.1)',
  'blocking-reload': 'a blocking reload returns the requested part or a later one (§6.2.5.2)',
  'live-progress': 'a held request is answered by a new part within 3 Target Durations (§6.2.5.2)',
  'msn-too-far': '_HLS_msn more than 2 past the last segment is refused with 400 (§6.2.5.2)',
  'part-without-msn': '_HLS_part without _HLS_msn is refused with 400 (§6.2.5.2)',
  'malformed-directive': 'a malformed _HLS_msn is refused with 400 (Mirror contract)',
  'delta-update': 'a delta update equals the full playlist once re-expanded (§6.2.5.1, §4.4.5.2)',
  'stream-inf': 'EXT-X-STREAM-INF with BANDWIDTH, CODECS, RESOLUTION and a URI (§4.4.6.2, Mirror contract)',
  'audio-group': 'AUDIO names an EXT-X-MEDIA group of TYPE=AUDIO (§4.4.6.2)',
  'media-tag': 'EXT-X-MEDIA with TYPE, GROUP-ID and NAME (§4.4.6.1)',
  'rendition-report': 'EXT-X-RENDITION-REPORT for every other rendition, not ahead of it (§4.4.5.4)',
};

// One broken rule. `at` is the offending line ({ line, text }) when there is
// one; the message gives the values.
// Whether a CODECS attribute names a video codec (else the variant is audio).
export function hasVideoCodec(codecs) {
  if (codecs === undefined) return true;  // unknown: held to the video rules
  return String(codecs).split(',').some((c) => /^(avc1|avc3|hvc1|hev1|vp09|av01)/.test(c.trim()));
}

export function violation(rule, url, at, message) {
  if (!(rule in RULES)) throw new Error(`unknown rule ${rule}`);
  return {
    rule,
    section: RULES[rule],
    url,
    line: at?.line,
    text: at?.text,
    message,
  };
}

// Durations in playlists are written with a few decimals; compare with a
// margin well below anything a player could notice.
const EPSILON = 1e-6;
const round3 = (x) => Math.round(x * 1000) / 1000;

export function checkMultivariant(playlist, url) {
  const out = [];
  const audioGroups = new Set(
    playlist.media.filter((m) => m.attrs.TYPE === 'AUDIO').map((m) => m.attrs['GROUP-ID']),
  );
  for (const m of playlist.media) {
    for (const name of ['TYPE', 'GROUP-ID', 'NAME']) {
      if (m.attrs[name] === undefined) out.push(violation('media-tag', url, m, `EXT-X-MEDIA lacks ${name}`));
    }
  }
  if (playlist.variants.length === 0) {
    out.push(violation('stream-inf', url, undefined, 'the multivariant playlist lists no EXT-X-STREAM-INF'));
  }
  for (const v of playlist.variants) {
    // BANDWIDTH is REQUIRED by §4.4.6.2; CODECS and RESOLUTION are SHOULDs
    // there, and Mirror's contract makes them required.
    // RESOLUTION describes video: an audio-only variant has none.
    const required = hasVideoCodec(v.attrs.CODECS) ? ['BANDWIDTH', 'CODECS', 'RESOLUTION'] : ['BANDWIDTH', 'CODECS'];
    for (const name of required) {
      if (v.attrs[name] === undefined) out.push(violation('stream-inf', url, v, `EXT-X-STREAM-INF lacks ${name}`));
    }
    if (v.attrs.BANDWIDTH !== undefined && !(decimal(v.attrs.BANDWIDTH) > 0)) {
      out.push(violation('stream-inf', url, v, `BANDWIDTH=${v.attrs.BANDWIDTH} is not a positive integer`));
    }
    if (v.attrs.RESOLUTION !== undefined && !/^\d+x\d+$/.test(v.attrs.RESOLUTION)) {
      out.push(violation('stream-inf', url, v, `RESOLUTION=${v.attrs.RESOLUTION} is not WIDTHxHEIGHT`));
    }
    if (v.uri === undefined) out.push(violation('stream-inf', url, v, 'EXT-X-STREAM-INF is not followed by a URI line'));
    if (v.attrs.AUDIO !== undefined && !audioGroups.has(v.attrs.AUDIO)) {
      out.push(violation('audio-group', url, v, `AUDIO="${v.attrs.AUDIO}" matches no EXT-X-MEDIA TYPE=AUDIO GROUP-ID`));
    }
  }
  return out;
}

// Rules for one media playlist as served, full or delta update.
export function checkMediaPlaylist(playlist, url) {
  const out = [];
  const td = playlist.targetDuration?.value;
  const pt = playlist.partTarget?.value;
  const hasParts = playlist.segments.some((s) => s.parts.length > 0);

  for (const l of playlist.repeated) {
    out.push(violation('repeated-tag', url, l, `${l.tag} appears more than once`));
  }

  // §4.4.1.2 / §8: EXT-X-MAP needs version 6 and EXT-X-SKIP version 9.
  const version = playlist.version?.value;
  if (version === undefined) {
    out.push(violation('version', url, undefined, 'EXT-X-VERSION is missing'));
  } else {
    if (playlist.segments.some((s) => s.mapUri !== undefined) && version < 6) {
      out.push(violation('version', url, playlist.version, `EXT-X-MAP needs EXT-X-VERSION >= 6, found ${version}`));
    }
    if (playlist.skip && version < 9) {
      out.push(violation('version', url, playlist.version, `EXT-X-SKIP needs EXT-X-VERSION >= 9, found ${version}`));
    }
  }

  // §4.4.3.1: a decimal-integer of at least 1, and every EXTINF rounded to
  // the nearest integer is at most that.
  if (td === undefined || td < 1 || !Number.isInteger(td)) {
    out.push(violation('target-duration', url, playlist.targetDuration,
      'EXT-X-TARGETDURATION is missing or not an integer >= 1'));
  }
  for (const s of playlist.segments.filter((seg) => seg.complete)) {
    const d = s.extinf?.duration;
    if (d === undefined) {
      out.push(violation('target-duration', url, s, `segment ${s.msn} has no valid EXTINF`));
    } else if (td !== undefined && Math.round(d) > td) {
      out.push(violation('target-duration', url, s.extinf,
        `EXTINF ${d} of segment ${s.msn} rounds above EXT-X-TARGETDURATION ${td}`));
    }
  }

  if (hasParts && pt === undefined) {
    out.push(violation('part-inf', url, undefined, 'EXT-X-PART tags without EXT-X-PART-INF:PART-TARGET'));
  }
  checkServerControl(playlist, url, out);
  if (pt !== undefined) checkParts(playlist, url, out);
  checkProgramDateTime(playlist, url, out);
  checkPreloadHints(playlist, url, out);

  for (const r of playlist.renditionReports) {
    // §4.4.5.4: URI is REQUIRED and relative to this playlist.
    if (!r.uri) out.push(violation('rendition-report', url, r, 'EXT-X-RENDITION-REPORT lacks URI'));
    else if (/^[a-z][a-z0-9+.-]*:/i.test(r.uri)) {
      out.push(violation('rendition-report', url, r, `URI ${r.uri} is not relative to the playlist`));
    }
  }
  return out;
}

function checkServerControl(playlist, url, out) {
  const td = playlist.targetDuration?.value;
  const pt = playlist.partTarget?.value;
  const sc = playlist.serverControl;
  if (pt !== undefined && (!sc || sc.attrs['CAN-BLOCK-RELOAD'] !== 'YES')) {
    // The draft lets a server with parts skip blocking reloads; Mirror's
    // low-latency delivery depends on them.
    out.push(violation('server-control', url, sc ?? playlist.partTarget,
      'a playlist with EXT-X-PART-INF needs EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES'));
  }
  if (!sc) return;
  const holdBack = decimal(sc.attrs['HOLD-BACK']);
  const partHoldBack = decimal(sc.attrs['PART-HOLD-BACK']);
  const canSkipUntil = decimal(sc.attrs['CAN-SKIP-UNTIL']);
  if (pt !== undefined) {
    // PART-HOLD-BACK is REQUIRED with EXT-X-PART-INF; it MUST be at least
    // twice PART-TARGET and SHOULD be three times. Mirror holds itself to
    // the SHOULD: hls.js starts that far from the edge, and less leaves it
    // under one part of slack.
    if (partHoldBack === undefined) {
      out.push(violation('part-hold-back', url, sc, 'PART-HOLD-BACK is missing while EXT-X-PART-INF is present'));
    } else if (partHoldBack + EPSILON < 3 * pt) {
      const must = partHoldBack + EPSILON < 2 * pt ? 'below the required 2 x' : 'below the recommended 3 x';
      out.push(violation('part-hold-back', url, sc,
        `PART-HOLD-BACK ${partHoldBack} is ${must} PART-TARGET ${pt} (needs >= ${round3(3 * pt)})`));
    }
  }
  if (holdBack !== undefined && td !== undefined && holdBack + EPSILON < 3 * td) {
    out.push(violation('hold-back', url, sc, `HOLD-BACK ${holdBack} is below 3 x Target Duration ${td}`));
  }
  if (canSkipUntil !== undefined && td !== undefined && canSkipUntil + EPSILON < 6 * td) {
    out.push(violation('can-skip-until', url, sc, `CAN-SKIP-UNTIL ${canSkipUntil} is below 6 x Target Duration ${td}`));
  }
}

function checkParts(playlist, url, out) {
  const td = playlist.targetDuration?.value;
  const pt = playlist.partTarget.value;
  const total = playlistDuration(playlist);
  let endOfSegment = 0;
  for (const s of playlist.segments) {
    endOfSegment += s.complete ? s.extinf?.duration ?? 0 : s.parts.reduce((a, p) => a + (p.duration ?? 0), 0);
    if (s.parts.length === 0) continue;

    // §4.4.4.9: tags that apply to the parent segment apply to its first
    // part too, so they come before it.
    const firstPartLine = s.parts[0].line;
    for (const tag of s.tags) {
      if (['EXT-X-PROGRAM-DATE-TIME', 'EXT-X-MAP', 'EXT-X-DISCONTINUITY', 'EXT-X-KEY'].includes(tag.tag) &&
          tag.line > firstPartLine) {
        out.push(violation('part-tag-order', url, tag, `${tag.tag} of segment ${s.msn} comes after its first EXT-X-PART`));
      }
    }

    if (s.parts[0].index === 0 && !s.parts[0].independent) {
      out.push(violation('segment-independent', url, s.parts[0],
        `segment ${s.msn} starts with a part that is not INDEPENDENT=YES`));
    }
    s.parts.forEach((p, i) => {
      if (!p.uri || p.duration === undefined) {
        out.push(violation('part-attributes', url, p, 'EXT-X-PART needs URI and a numeric DURATION'));
        return;
      }
      if (p.duration > pt + EPSILON) {
        out.push(violation('part-duration-max', url, p,
          `part ${i} of segment ${s.msn} lasts ${p.duration} s, above PART-TARGET ${pt} s`));
      }
      // §4.4.4.9: at least 85 % of PART-TARGET, except INDEPENDENT=YES or
      // GAP=YES parts, parts followed by a GAP=YES part, and the final part
      // of a parent segment. A segment still being written has no final
      // part yet: its last listed part is followed by the preload hint.
      const final = s.complete && i === s.parts.length - 1;
      const exempt = p.independent || p.gap || s.parts[i + 1]?.gap || final;
      if (!exempt && p.duration + EPSILON < 0.85 * pt) {
        out.push(violation('part-duration-min', url, p,
          `part ${i} of segment ${s.msn} lasts ${p.duration} s, below 85 % of PART-TARGET ${pt} s ` +
          `(${round3(0.85 * pt)} s); only INDEPENDENT, GAP and final parts may be shorter`));
      }
    });

    if (s.complete && s.extinf?.duration !== undefined) {
      const sum = s.parts.reduce((a, p) => a + (p.duration ?? 0), 0);
      // One millisecond per part covers parts written with three decimals.
      if (Math.abs(sum - s.extinf.duration) > 0.001 * s.parts.length + EPSILON) {
        out.push(violation('part-sum', url, s.extinf,
          `the ${s.parts.length} parts of segment ${s.msn} add up to ${round3(sum)} s, EXTINF says ${s.extinf.duration} s`));
      }
    }

    // §6.2.2: parts SHOULD leave the playlist once they are more than three
    // Target Durations from its end. Read per segment: one that ended more
    // than three Target Durations before the end lists no parts.
    if (td !== undefined && s.complete && total - endOfSegment > 3 * td + 0.001) {
      out.push(violation('part-window', url, s.parts[0],
        `segment ${s.msn} ended ${round3(total - endOfSegment)} s before the end of the playlist ` +
        `(more than 3 x ${td} s) but still lists its parts`));
    }
  }
}

// §4.4.4.6 dates the first sample of a segment, so two dated neighbours
// differ by the first one's EXTINF unless a discontinuity separates them.
// Two milliseconds absorb the rounding of both dates.
function checkProgramDateTime(playlist, url, out) {
  const segs = playlist.segments;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i];
    if (s.pdt && Number.isNaN(s.pdt.ms)) {
      out.push(violation('program-date-time', url, s.pdt, 'EXT-X-PROGRAM-DATE-TIME is not an ISO 8601 date'));
      continue;
    }
    const prev = segs[i - 1];
    if (!prev || !s.pdt || !prev.pdt || Number.isNaN(prev.pdt.ms) || s.discontinuity) continue;
    const d = prev.extinf?.duration;
    if (d === undefined) continue;
    const gapMs = s.pdt.ms - prev.pdt.ms;
    if (Math.abs(gapMs - d * 1000) > 2) {
      out.push(violation('program-date-time', url, s.pdt,
        `segment ${s.msn} is dated ${gapMs} ms after segment ${prev.msn}, whose EXTINF is ${d} s`));
    }
  }
}

function checkPreloadHints(playlist, url, out) {
  const partHints = playlist.preloadHints.filter((h) => h.type === 'PART');
  if (playlist.endlist) {
    for (const h of playlist.preloadHints) {
      out.push(violation('preload-hint', url, h, 'a playlist with EXT-X-ENDLIST must not carry EXT-X-PRELOAD-HINT'));
    }
    return;
  }
  if (playlist.partTarget === undefined) return;
  if (partHints.length === 0) {
    const last = lastPartPosition(playlist);
    out.push(violation('preload-hint', url, undefined,
      `live playlist has no EXT-X-PRELOAD-HINT:TYPE=PART (last part ${last ? `${last.msn}.${last.part}` : 'none'})`));
  } else if (partHints.length > 1) {
    out.push(violation('preload-hint', url, partHints[1], 'more than one EXT-X-PRELOAD-HINT with TYPE=PART'));
  }
  for (const h of playlist.preloadHints) {
    if (!h.uri || !['PART', 'MAP'].includes(h.type)) {
      out.push(violation('preload-hint', url, h, 'EXT-X-PRELOAD-HINT needs TYPE=PART|MAP and URI'));
    }
  }
}

// §4.4.5.4: every other rendition of the stream is reported. `others` are
// absolute playlist URLs; report URIs resolve against `url`.
export function checkRenditionReportCoverage(playlist, url, others) {
  const reported = new Set(playlist.renditionReports.filter((r) => r.uri).map((r) => new URL(r.uri, url).href));
  const out = [];
  if (playlist.endlist) return out;
  for (const other of others) {
    if (!reported.has(other)) {
      out.push(violation('rendition-report', url, undefined, `no EXT-X-RENDITION-REPORT for ${other}`));
    }
  }
  return out;
}

// A report is "as up-to-date as the Playlist that contains it" (§4.4.5.4):
// it may not name a part that the reported rendition, fetched just after,
// does not have yet, give or take the one part that may have been added in
// between. Omitted attributes take this playlist's own values.
export function checkRenditionReport(playlist, url, report, target, targetUrl) {
  const out = [];
  const own = lastPartPosition(playlist);
  const msn = report.lastMsn ?? lastMsn(playlist);
  const part = report.lastPart ?? own?.part;
  const real = lastPartPosition(target);
  const realMsn = lastMsn(target);
  if (real && part === undefined) {
    out.push(violation('rendition-report', url, report, `LAST-PART is missing while ${targetUrl} has parts`));
    return out;
  }
  if (!real) {
    if (msn > realMsn) {
      out.push(violation('rendition-report', url, report, `LAST-MSN=${msn} is ahead of ${targetUrl} (last segment ${realMsn})`));
    }
    return out;
  }
  const aheadOfNextInSegment = msn > real.msn || (msn === real.msn && part > real.part + 1);
  const isFirstOfNextSegment = msn === real.msn + 1 && part === 0;
  if (aheadOfNextInSegment && !isFirstOfNextSegment) {
    out.push(violation('rendition-report', url, report,
      `reports part ${msn}.${part}, but ${targetUrl} fetched afterwards ends at part ${real.msn}.${real.part}`));
  }
  return out;
}
