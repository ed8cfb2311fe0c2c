// Playlist Delta Updates (draft-pantos-hls-rfc8216bis §6.2.5.1, §4.4.5.2):
// a delta update replaces the oldest segments with EXT-X-SKIP, and a client
// rebuilds the full playlist from the segments it already has. This module
// does that rebuild and compares it with the full playlist the server gives
// for the same blocking request.

import { violation } from './llhls_rules.mjs';
import { decimal, playlistDuration } from './llhls_playlist.mjs';

const EPSILON = 1e-6;

// Compares `delta` with `full`, both answers to the same _HLS_msn/_HLS_part
// request, the skipped segments taken from `timeline` (what earlier full
// playlists listed). Returns { violations, retry }: `retry` is set when the
// two answers describe different moments of the stream (a part was added
// between them), so that comparing them says nothing.
export function compareDeltaUpdate(delta, full, timeline, deltaUrl, fullUrl) {
  // The live edge by URIs, not numbers: a wrong SKIPPED-SEGMENTS renumbers
  // every segment of the delta update, and that is for the comparison below
  // to report.
  const edgeOf = (p, url) => {
    const last = p.segments.at(-1);
    const part = last?.parts.at(-1);
    const uri = (x) => x && new URL(x, url).href;
    return JSON.stringify([uri(last?.uri), uri(part?.uri), p.preloadHints.map((h) => uri(h.uri))]);
  };
  if (edgeOf(delta, deltaUrl) !== edgeOf(full, fullUrl)) return { violations: [], retry: true };

  const out = [];
  const fail = (at, message) => out.push(violation('delta-update', deltaUrl, at, message));

  if (!delta.skip) {
    // Nothing may be left to skip yet: a segment is skippable once it lies
    // wholly before the Skip Boundary, CAN-SKIP-UNTIL seconds from the end.
    const boundary = decimal(full.serverControl?.attrs['CAN-SKIP-UNTIL']);
    const oldest = full.segments[0];
    if (boundary !== undefined && oldest?.complete &&
        playlistDuration(full) - (oldest.extinf?.duration ?? 0) >= boundary) {
      fail(undefined, `no EXT-X-SKIP although segment ${oldest.msn} lies before the Skip Boundary of ${boundary} s`);
    }
  }

  // Tags that describe the playlist as a whole must match (EXT-X-VERSION
  // may differ: a delta update needs 9 or more, §8).
  const header = (p) => ({
    'EXT-X-TARGETDURATION': p.targetDuration?.value,
    'EXT-X-MEDIA-SEQUENCE': p.mediaSequence,
    'EXT-X-DISCONTINUITY-SEQUENCE': p.discontinuitySequence,
    'EXT-X-PART-INF': p.partTarget?.text,
    'EXT-X-SERVER-CONTROL': p.serverControl?.text,
    'EXT-X-ENDLIST': p.endlist,
  });
  const hd = header(delta);
  const hf = header(full);
  for (const name of Object.keys(hd)) {
    if (hd[name] !== hf[name]) fail(undefined, `${name} is ${hd[name]} in the delta update, ${hf[name]} in the full playlist`);
  }

  const skipped = delta.skip?.skipped ?? 0;
  const restored = timeline.segmentRange(delta.mediaSequence, skipped);
  if (!restored) {
    fail(delta.skip, `SKIPPED-SEGMENTS=${skipped} from ${delta.mediaSequence} reaches segments no full playlist listed`);
    return { violations: out, retry: false };
  }
  // Skipped segments come back without parts: the Skip Boundary is at least
  // six Target Durations back, and parts never stay listed that long.
  // An EXT-X-MAP that came before the skipped segments still applies after
  // them; a client keeps it (hls.js does), so the delta update need not
  // repeat it.
  const inheritedMap = restored.at(-1)?.mapUri;
  const expanded = [
    ...restored.map((s) => ({ ...s, complete: true, parts: [] })),
    ...delta.segments.map((s) => ({ ...segmentSummary(s, deltaUrl), mapUri: s.mapUri ?? inheritedMap })),
  ];
  const reference = full.segments.map((s, i) => {
    const summary = segmentSummary(s, fullUrl);
    return i < skipped ? { ...summary, parts: [] } : summary;
  });
  if (expanded.length !== reference.length) {
    fail(delta.skip, `re-expanded delta update has ${expanded.length} segments, the full playlist ${reference.length}`);
  }
  for (let i = 0; i < Math.min(expanded.length, reference.length); i++) {
    const difference = segmentDifference(expanded[i], reference[i]);
    if (difference) {
      const at = i < skipped ? delta.skip : delta.segments[i - skipped];
      fail(at, `segment ${reference[i].msn} ${difference}${i < skipped ? ' (a skipped segment)' : ''}`);
    }
  }

  const hints = (p, url) => p.preloadHints.map((h) => `${h.type} ${h.uri && new URL(h.uri, url).href}`).join(' | ');
  if (hints(delta, deltaUrl) !== hints(full, fullUrl)) {
    fail(undefined, `preload hints differ: delta [${hints(delta, deltaUrl)}], full [${hints(full, fullUrl)}]`);
  }

  // Rendition reports follow the other renditions, which may gain a part
  // between the two answers: a difference there asks for another try.
  const reports = (p, url) => p.renditionReports
    .map((r) => `${r.uri && new URL(r.uri, url).href} ${r.lastMsn}.${r.lastPart}`).sort().join(' | ');
  if (reports(delta, deltaUrl) !== reports(full, fullUrl)) {
    return { violations: out, retry: out.length === 0, reports: [reports(delta, deltaUrl), reports(full, fullUrl)] };
  }
  return { violations: out, retry: false };
}

function segmentSummary(s, url) {
  return {
    msn: s.msn,
    complete: s.complete,
    uri: s.uri && new URL(s.uri, url).href,
    duration: s.extinf?.duration,
    pdtMs: s.pdt?.ms,
    discontinuity: s.discontinuity,
    mapUri: s.mapUri,
    parts: s.parts.map((p) => ({ uri: p.uri && new URL(p.uri, url).href, duration: p.duration, independent: p.independent })),
  };
}

// A short description of how `a` differs from `b`, or '' when they match.
// Dates are compared only where both carry EXT-X-PROGRAM-DATE-TIME.
function segmentDifference(a, b) {
  if (a.msn !== b.msn) return `is numbered ${a.msn} in the delta update`;
  if (a.complete !== b.complete) return `is ${a.complete ? 'complete' : 'in progress'} in the delta update only`;
  if (a.uri !== b.uri) return `has URI ${a.uri} in the delta update, ${b.uri} in the full playlist`;
  if (Math.abs((a.duration ?? 0) - (b.duration ?? 0)) > EPSILON) return `has EXTINF ${a.duration} vs ${b.duration}`;
  if (a.discontinuity !== b.discontinuity) return 'differs in EXT-X-DISCONTINUITY';
  if (a.mapUri !== b.mapUri) return `has EXT-X-MAP ${a.mapUri} vs ${b.mapUri}`;
  if (a.pdtMs !== undefined && b.pdtMs !== undefined && Math.abs(a.pdtMs - b.pdtMs) > 2) return 'has another date';
  if (a.parts.length !== b.parts.length) return `lists ${a.parts.length} parts vs ${b.parts.length}`;
  for (let i = 0; i < a.parts.length; i++) {
    const pa = a.parts[i];
    const pb = b.parts[i];
    if (pa.uri !== pb.uri || Math.abs((pa.duration ?? 0) - (pb.duration ?? 0)) > EPSILON || pa.independent !== pb.independent) {
      return `differs in part ${i}`;
    }
  }
  return '';
}
