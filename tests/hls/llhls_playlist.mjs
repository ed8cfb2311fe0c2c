// Line-level reading of HLS playlists for Mirror's LL-HLS tests.
//
// hls-parser validates a playlist as a whole, but it drops the line numbers
// and folds the low-latency tags into shapes that hide what a checker needs
// (which part is the last of a finished segment, where the preload hint
// points, what a delta update skipped). This module reads the text itself,
// keeps every tag's line, and hands the text to hls-parser in strict mode as
// a separate gate (strictParse below). Tag names and attribute meanings
// follow draft-pantos-hls-rfc8216bis; section numbers in comments refer to
// it. Nothing here does I/O, so the browser tests can reuse it.

import HLS from 'hls-parser';

// Splits an attribute list (§4.2) into { NAME: value }. Quoted strings keep
// their commas and lose their quotes; `quoted` remembers which were quoted,
// because an enumerated-string must not be (YES, not "YES").
export function parseAttributes(text) {
  const attrs = {};
  const quoted = new Set();
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) break;
    const name = text.slice(i, eq).trim();
    let value;
    let next;
    if (text[eq + 1] === '"') {
      const close = text.indexOf('"', eq + 2);
      const end = close < 0 ? text.length : close;
      value = text.slice(eq + 2, end);
      quoted.add(name);
      next = text.indexOf(',', end);
    } else {
      next = text.indexOf(',', eq + 1);
      value = text.slice(eq + 1, next < 0 ? text.length : next).trim();
    }
    attrs[name] = value;
    i = next < 0 ? text.length : next + 1;
  }
  Object.defineProperty(attrs, 'quoted', { value: quoted, enumerable: false });
  return attrs;
}

// A decimal attribute or tag value as a number, or undefined when absent or
// not a number (the caller decides whether that is a violation).
export function decimal(value) {
  if (value === undefined || value === null || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

// Splits playlist text into numbered lines: { line (1-based), text, tag,
// value } for tags, { line, text, uri } for URI lines. Comments and blank
// lines are dropped but keep their place in the numbering.
function numberedLines(text) {
  const out = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const t = raw.trim();
    if (!t) return;
    if (t.startsWith('#EXT')) {
      const colon = t.indexOf(':');
      out.push({
        line: index + 1,
        text: t,
        tag: colon < 0 ? t.slice(1) : t.slice(1, colon),
        value: colon < 0 ? '' : t.slice(colon + 1),
      });
    } else if (!t.startsWith('#')) {
      out.push({ line: index + 1, text: t, uri: t });
    }
  });
  return out;
}

const MULTIVARIANT_TAGS = new Set([
  'EXT-X-STREAM-INF', 'EXT-X-I-FRAME-STREAM-INF', 'EXT-X-MEDIA',
  'EXT-X-SESSION-DATA', 'EXT-X-SESSION-KEY',
]);

// Reads a multivariant or media playlist. Returns { kind: 'multivariant' |
// 'media' | 'invalid', ... }; see readMultivariant and readMedia.
export function readPlaylist(text) {
  const lines = numberedLines(text);
  if (lines.length === 0 || lines[0].tag !== 'EXTM3U') {
    return { kind: 'invalid', error: 'the first line is not #EXTM3U', lines };
  }
  if (lines.some((l) => MULTIVARIANT_TAGS.has(l.tag))) return readMultivariant(lines);
  return readMedia(lines);
}

// { kind, version, variants: [{ attrs, uri, line, uriLine }],
//   media: [{ attrs, line }] }
function readMultivariant(lines) {
  const playlist = { kind: 'multivariant', version: undefined, variants: [], media: [], lines };
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.tag === 'EXT-X-VERSION') {
      playlist.version = { value: decimal(l.value), line: l.line, text: l.text };
    } else if (l.tag === 'EXT-X-STREAM-INF') {
      const next = lines[i + 1];
      playlist.variants.push({
        attrs: parseAttributes(l.value),
        line: l.line,
        text: l.text,
        uri: next && next.uri !== undefined ? next.uri : undefined,
        uriLine: next ? next.line : undefined,
      });
    } else if (l.tag === 'EXT-X-MEDIA') {
      playlist.media.push({ attrs: parseAttributes(l.value), line: l.line, text: l.text });
    }
  }
  return playlist;
}

// Media playlist model. Segments are numbered by their Media Sequence Number
// (§4.4.3.2), counting the ones an EXT-X-SKIP replaced (§4.4.5.2). The
// segment still being written, whose parts are listed but which has no URI
// yet, comes last with `complete: false`.
//
// { kind: 'media', version, targetDuration, mediaSequence,
//   discontinuitySequence, partTarget, serverControl, skip, endlist,
//   segments: [{ msn, uri, line, complete, extinf, pdt, discontinuity,
//                mapUri, gap, parts: [{ index, uri, duration, independent,
//                gap, line, text }], tags }],
//   preloadHints: [{ type, uri, attrs, line, text }],
//   renditionReports: [{ uri, lastMsn, lastPart, attrs, line, text }],
//   repeated: [tag lines that appeared more than once] }
function readMedia(lines) {
  const playlist = {
    kind: 'media',
    version: undefined,
    targetDuration: undefined,
    mediaSequence: 0,
    discontinuitySequence: 0,
    partTarget: undefined,
    serverControl: undefined,
    skip: undefined,
    endlist: false,
    playlistType: undefined,
    segments: [],
    preloadHints: [],
    renditionReports: [],
    repeated: [],
    lines,
  };
  const seen = new Set();
  const once = (l) => {
    if (seen.has(l.tag)) playlist.repeated.push(l);
    seen.add(l.tag);
  };
  let mapUri;
  let pending = newSegment();
  const flush = (uriLine) => {
    pending.msn = playlist.mediaSequence + (playlist.skip ? playlist.skip.skipped : 0) +
      playlist.segments.length;
    pending.mapUri = pending.mapUri ?? mapUri;
    if (uriLine) {
      pending.uri = uriLine.uri;
      pending.line = uriLine.line;
      pending.complete = true;
    }
    playlist.segments.push(pending);
    pending = newSegment();
  };

  for (const l of lines.slice(1)) {
    if (l.uri !== undefined) {
      flush(l);
      continue;
    }
    const attrs = () => parseAttributes(l.value);
    switch (l.tag) {
      case 'EXT-X-VERSION':
        once(l);
        playlist.version = { value: decimal(l.value), line: l.line, text: l.text };
        break;
      case 'EXT-X-TARGETDURATION':
        once(l);
        playlist.targetDuration = { value: decimal(l.value), line: l.line, text: l.text };
        break;
      case 'EXT-X-MEDIA-SEQUENCE':
        once(l);
        playlist.mediaSequence = decimal(l.value) ?? 0;
        break;
      case 'EXT-X-DISCONTINUITY-SEQUENCE':
        once(l);
        playlist.discontinuitySequence = decimal(l.value) ?? 0;
        break;
      case 'EXT-X-ENDLIST':
        once(l);
        playlist.endlist = true;
        break;
      case 'EXT-X-PLAYLIST-TYPE':
        once(l);
        playlist.playlistType = l.value;
        break;
      case 'EXT-X-PART-INF': {
        once(l);
        const a = attrs();
        playlist.partTarget = { value: decimal(a['PART-TARGET']), attrs: a, line: l.line, text: l.text };
        break;
      }
      case 'EXT-X-SERVER-CONTROL':
        once(l);
        playlist.serverControl = { attrs: attrs(), line: l.line, text: l.text };
        break;
      case 'EXT-X-SKIP': {
        once(l);
        const a = attrs();
        playlist.skip = { skipped: decimal(a['SKIPPED-SEGMENTS']) ?? 0, attrs: a, line: l.line, text: l.text };
        break;
      }
      case 'EXT-X-PRELOAD-HINT': {
        const a = attrs();
        playlist.preloadHints.push({ type: a.TYPE, uri: a.URI, attrs: a, line: l.line, text: l.text });
        break;
      }
      case 'EXT-X-RENDITION-REPORT': {
        const a = attrs();
        playlist.renditionReports.push({
          uri: a.URI, lastMsn: decimal(a['LAST-MSN']), lastPart: decimal(a['LAST-PART']),
          attrs: a, line: l.line, text: l.text,
        });
        break;
      }
      case 'EXTINF': {
        const comma = l.value.indexOf(',');
        pending.extinf = {
          duration: decimal(comma < 0 ? l.value : l.value.slice(0, comma)),
          line: l.line, text: l.text,
        };
        pending.tags.push(l);
        break;
      }
      case 'EXT-X-PROGRAM-DATE-TIME':
        pending.pdt = { ms: Date.parse(l.value), line: l.line, text: l.text };
        pending.tags.push(l);
        break;
      case 'EXT-X-DISCONTINUITY':
        pending.discontinuity = true;
        pending.tags.push(l);
        break;
      case 'EXT-X-GAP':
        pending.gap = true;
        pending.tags.push(l);
        break;
      case 'EXT-X-MAP':
        mapUri = attrs().URI;
        pending.mapUri = mapUri;
        pending.tags.push(l);
        break;
      case 'EXT-X-PART': {
        const a = attrs();
        pending.parts.push({
          index: pending.parts.length,
          uri: a.URI,
          duration: decimal(a.DURATION),
          independent: a.INDEPENDENT === 'YES',
          gap: a.GAP === 'YES',
          attrs: a,
          line: l.line,
          text: l.text,
        });
        pending.tags.push(l);
        break;
      }
      default:
        pending.tags.push(l);
        break;
    }
  }
  // Parts after the last URI line belong to the segment being written.
  if (pending.parts.length > 0) flush(null);
  return playlist;
}

function newSegment() {
  return {
    msn: undefined, uri: null, line: undefined, complete: false, extinf: undefined,
    pdt: undefined, discontinuity: false, mapUri: undefined, gap: false, parts: [], tags: [],
  };
}

// A part's place in the stream: { msn, part }. Positions order by segment,
// then by part index; a whole segment sorts after all of its parts.
export function comparePositions(a, b) {
  if (a.msn !== b.msn) return a.msn - b.msn;
  return (a.part ?? Infinity) - (b.part ?? Infinity);
}

// The last part listed in the playlist, or undefined when it lists none.
export function lastPartPosition(playlist) {
  for (let i = playlist.segments.length - 1; i >= 0; i--) {
    const s = playlist.segments[i];
    if (s.parts.length > 0) return { msn: s.msn, part: s.parts.length - 1 };
  }
  return undefined;
}

// The Media Sequence Number of the last completed segment, or undefined.
export function lastCompleteMsn(playlist) {
  for (let i = playlist.segments.length - 1; i >= 0; i--) {
    if (playlist.segments[i].complete) return playlist.segments[i].msn;
  }
  return undefined;
}

// The highest Media Sequence Number the playlist mentions, the segment
// being written included: what LAST-MSN of a rendition report means
// (§4.4.5.4).
export function lastMsn(playlist) {
  const last = playlist.segments.at(-1);
  if (last) return last.msn;
  return playlist.mediaSequence + (playlist.skip ? playlist.skip.skipped : 0) - 1;
}

// Where the next part will appear: the part the preload hint names when the
// stream runs as it should, and what a low-latency client asks for with
// _HLS_msn/_HLS_part (§6.2.5.2). A request for a part index past the end of
// a segment that then completes is served as part 0 of the next one.
export function nextPartPosition(playlist) {
  const last = playlist.segments.at(-1);
  if (!last) return { msn: lastMsn(playlist) + 1, part: 0 };
  if (last.complete) return { msn: last.msn + 1, part: 0 };
  return { msn: last.msn, part: last.parts.length };
}

// Whether the playlist answers a blocking reload for `position` (§6.2.5.2):
// it holds that part or a later one, or, for _HLS_msn alone, the completed
// segment or a later one. A finished stream answers every request.
export function satisfiesBlockingRequest(playlist, position) {
  if (playlist.endlist) return true;
  if (position.part === undefined) {
    const done = lastCompleteMsn(playlist);
    return done !== undefined && done >= position.msn;
  }
  const last = lastPartPosition(playlist);
  return last !== undefined && comparePositions(last, position) >= 0;
}

// The playlist's total duration in seconds: completed segments plus the
// parts of the segment being written.
export function playlistDuration(playlist) {
  let total = 0;
  for (const s of playlist.segments) {
    total += s.complete
      ? s.extinf?.duration ?? 0
      : s.parts.reduce((sum, p) => sum + (p.duration ?? 0), 0);
  }
  return total;
}

// hls-parser applies a few rules more broadly than the draft does. Each
// entry finds where that happens in a playlist and rewrites the copy handed
// to hls-parser so that the rest of its strict checks still run; the
// checker applies the draft's own rule to the original text (see
// llhls_rules.mjs), so no check is lost, only moved.
const PARSER_QUIRKS = [
  {
    // hls-parser refuses EXT-X-PART on any but the last three segment
    // entries (the one being written counts). The draft asks servers to
    // drop parts once they are more than three Target Durations from the
    // end (§6.2.2), which allows more entries when segments are shorter
    // than the Target Duration. Rule 'part-window' checks the durations.
    name: 'parts-beyond-three-segments',
    rewrite(playlist, lines) {
      const drop = playlist.segments.slice(0, -3).flatMap((s) => s.parts.map((p) => p.line));
      for (const line of drop) lines[line - 1] = '';
      return drop.length > 0;
    },
  },
  {
    // hls-parser holds every part but the last of each entry to 85 % of
    // PART-TARGET. §4.4.4.9 also exempts parts with INDEPENDENT=YES or
    // GAP=YES and parts followed by a GAP=YES part. Rule
    // 'part-duration-min' applies the exemptions; the copy lifts exempt
    // parts' DURATION to PART-TARGET.
    name: 'short-exempt-part',
    rewrite(playlist, lines) {
      const target = playlist.partTarget?.value;
      if (!target) return false;
      let changed = false;
      for (const s of playlist.segments) {
        s.parts.forEach((p, i) => {
          const exempt = p.independent || p.gap || s.parts[i + 1]?.gap;
          if (exempt && p.duration !== undefined && p.duration < 0.85 * target) {
            lines[p.line - 1] = lines[p.line - 1].replace(/DURATION=[^,]*/, `DURATION=${target}`);
            changed = true;
          }
        });
      }
      return changed;
    },
  },
  {
    // hls-parser treats SKIPPED-SEGMENTS=0 as a missing attribute. Zero is a
    // legal decimal-integer (§4.4.5.2) and skips nothing, so the copy drops
    // the tag; rule 'version' still requires EXT-X-VERSION 9 for it (§8).
    name: 'skip-zero-segments',
    rewrite(playlist, lines) {
      if (!playlist.skip || playlist.skip.skipped !== 0) return false;
      lines[playlist.skip.line - 1] = '';
      return true;
    },
  },
];

HLS.setOptions({ strictMode: true, silent: true });

// Parses `text` with hls-parser in strict mode. Returns { ok, error,
// quirks }: `error` is hls-parser's message when it refuses the playlist,
// `quirks` names the PARSER_QUIRKS that had to be worked around.
export function strictParse(text, playlist = readPlaylist(text)) {
  const quirks = [];
  let input = text;
  if (playlist.kind === 'media') {
    const lines = text.split(/\r?\n/);
    for (const quirk of PARSER_QUIRKS) {
      if (quirk.rewrite(playlist, lines)) quirks.push(quirk.name);
    }
    if (quirks.length > 0) input = lines.join('\n');
  }
  try {
    HLS.parse(input);
    return { ok: true, quirks };
  } catch (err) {
    const internal = !/^Invalid Playlist/.test(err.message);
    return {
      ok: false,
      quirks,
      error: internal ? `hls-parser failed internally (${err.message})` : err.message,
    };
  }
}
