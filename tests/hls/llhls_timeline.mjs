// What one rendition's playlists have said so far, and the rules that tie a
// reload to the ones before it (draft-pantos-hls-rfc8216bis §6.2.1: a live
// playlist only grows at its end and loses segments at its start; nothing
// already listed changes).
//
// record() holds for any playlist of the rendition, in any order: it checks
// that a segment or part, once seen, keeps its URI and duration. Whether a
// playlist is older than another is known only from the times of the
// requests: one sent after another's answer arrived was written after it.
// Playlists fetched concurrently (a rendition report's target checked while
// that rendition's own reload loop runs) may arrive in either order. advance()
// expects the playlists of one client's reload loop, in the order it got
// them: the media sequence and the live edge only move forward, and the
// preload hint names the next part that appears.

import { violation } from './llhls_rules.mjs';
import { comparePositions, lastCompleteMsn, lastPartPosition } from './llhls_playlist.mjs';

const EPSILON = 1e-6;

export class RenditionTimeline {
  constructor(url) {
    this.url = url;
    // msn -> { uri, duration, pdtMs, discontinuity, mapUri }, completed segments.
    this.segments = new Map();
    // msn -> { list: [{ uri, duration, independent }], finalCount,
    // discontinuity }, the parts seen for each segment; finalCount is set
    // once the segment completed.
    this.parts = new Map();
    this.mediaSequence = undefined;
    this.edge = undefined;
    this.hint = undefined;
    this.partsSeen = 0;
  }

  // Checks `playlist` (fetched from `url`) against everything recorded, and
  // records what is new. `timing` ({ sentAt, receivedAt }, performance.now()
  // milliseconds) places the playlist in time; without it the playlist counts
  // as written after everything recorded before. Returns the violations.
  record(playlist, url, timing = {}) {
    const out = [];
    // RFC 8216 §6.2.1: EXT-X-TARGETDURATION never changes in a live playlist.
    const td = playlist.targetDuration?.value;
    if (td !== undefined) {
      if (this.targetDuration === undefined) {
        this.targetDuration = td;
      } else if (td !== this.targetDuration) {
        out.push(violation('target-duration-stable', url, playlist.targetDuration,
          `EXT-X-TARGETDURATION changed from ${this.targetDuration} to ${td}`));
      }
    }
    const sentAt = timing.sentAt ?? Infinity;
    const receivedAt = timing.receivedAt ?? performance.now();
    for (const s of playlist.segments) {
      const known = this.segments.get(s.msn);
      if (s.complete) {
        const entry = {
          uri: new URL(s.uri, url).href,
          duration: s.extinf?.duration,
          pdtMs: s.pdt?.ms,
          discontinuity: s.discontinuity,
          mapUri: s.mapUri,
        };
        if (!known) {
          entry.seenAt = receivedAt;
          this.segments.set(s.msn, entry);
        } else {
          if (known.uri !== entry.uri) {
            out.push(violation('segment-stable', url, s, `segment ${s.msn} was ${known.uri}, now ${entry.uri}`));
          }
          if (Math.abs((known.duration ?? NaN) - (entry.duration ?? NaN)) > EPSILON || entry.duration === undefined) {
            out.push(violation('segment-stable', url, s.extinf ?? s,
              `segment ${s.msn} had EXTINF ${known.duration}, now ${entry.duration}`));
          }
          if (known.pdtMs !== undefined && entry.pdtMs !== undefined && Math.abs(known.pdtMs - entry.pdtMs) > 2) {
            out.push(violation('segment-stable', url, s.pdt,
              `segment ${s.msn} was dated ${new Date(known.pdtMs).toISOString()}, now ${s.pdt.text}`));
          }
          known.pdtMs ??= entry.pdtMs;
          known.seenAt = Math.min(known.seenAt, receivedAt);
        }
      } else if (known && sentAt > known.seenAt) {
        out.push(violation('segment-stable', url, s.parts[0],
          `segment ${s.msn} was complete in an earlier reload and is listed as still being written`));
      }
      this.recordParts(s, url, out, sentAt, receivedAt);
    }
    return out;
  }

  recordParts(segment, url, out, sentAt, receivedAt) {
    if (segment.parts.length === 0) return;
    let entry = this.parts.get(segment.msn);
    if (!entry) {
      // countSeenAt: when the longest list of parts so far arrived.
      entry = { list: [], finalCount: undefined, discontinuity: segment.discontinuity, countSeenAt: receivedAt };
      this.parts.set(segment.msn, entry);
    }
    if (segment.parts.length > entry.list.length) entry.countSeenAt = receivedAt;
    for (const p of segment.parts) {
      const now = { uri: p.uri && new URL(p.uri, url).href, duration: p.duration, independent: p.independent };
      const before = entry.list[p.index];
      if (!before) {
        entry.list[p.index] = now;
        this.partsSeen++;
        continue;
      }
      const changes = [];
      if (before.uri !== now.uri) changes.push(`URI ${before.uri} -> ${now.uri}`);
      if (Math.abs((before.duration ?? NaN) - (now.duration ?? NaN)) > EPSILON) {
        changes.push(`DURATION ${before.duration} -> ${now.duration}`);
      }
      if (before.independent !== now.independent) changes.push(`INDEPENDENT ${before.independent} -> ${now.independent}`);
      if (changes.length > 0) {
        out.push(violation('part-stable', url, p, `part ${segment.msn}.${p.index} changed: ${changes.join(', ')}`));
      }
    }
    if (segment.complete) {
      if (entry.finalCount !== undefined && entry.finalCount !== segment.parts.length) {
        out.push(violation('part-stable', url, segment.parts.at(-1),
          `completed segment ${segment.msn} listed ${entry.finalCount} parts before, ${segment.parts.length} now`));
      }
      entry.finalCount ??= segment.parts.length;
    } else if (entry.list.length > segment.parts.length && sentAt > entry.countSeenAt) {
      out.push(violation('part-stable', url, segment.parts.at(-1),
        `segment ${segment.msn} listed ${entry.list.length} parts before, only ${segment.parts.length} now`));
    }
  }

  // Checks that `playlist`, the next one of a sequential reload loop, moves
  // forward from the previous one. Returns the violations.
  advance(playlist, url) {
    const out = [];
    if (this.mediaSequence !== undefined && playlist.mediaSequence < this.mediaSequence) {
      out.push(violation('media-sequence', url, undefined,
        `EXT-X-MEDIA-SEQUENCE went back from ${this.mediaSequence} to ${playlist.mediaSequence}`));
    }
    this.mediaSequence = Math.max(this.mediaSequence ?? -Infinity, playlist.mediaSequence);

    const edge = lastPartPosition(playlist) ?? { msn: lastCompleteMsn(playlist) ?? -1 };
    if (this.edge && comparePositions(edge, this.edge) < 0) {
      out.push(violation('live-edge', url, undefined,
        `the playlist ends at ${formatPosition(edge)} after an earlier reload ended at ${formatPosition(this.edge)}`));
    } else {
      this.edge = edge;
    }

    this.checkHint(playlist, url, out);
    return out;
  }

  // §4.4.5.3: the preload hint's URI "MUST match the URI that will be
  // subsequently added to the Playlist", which is the first part after the
  // last one listed when the hint was given, whichever segment it lands in.
  checkHint(playlist, url, out) {
    const hint = playlist.preloadHints.find((h) => h.type === 'PART' && h.uri);
    if (this.hint) {
      const next = firstPartAfter(playlist, this.hint.after);
      if (next) {
        const uri = new URL(next.part.uri, url).href;
        if (uri !== this.hint.uri) {
          out.push(violation('preload-hint-uri', url, next.part,
            `the part after ${formatPosition(this.hint.after)} is ${uri}, the preload hint said ${this.hint.uri}`));
        }
        this.hint = undefined;
      } else if (hint && new URL(hint.uri, url).href !== this.hint.uri) {
        out.push(violation('preload-hint-uri', url, hint,
          `the preload hint moved from ${this.hint.uri} to ${new URL(hint.uri, url).href} before that part appeared`));
        this.hint = undefined;
      } else {
        return;
      }
    }
    const after = lastPartPosition(playlist);
    if (hint && after && !playlist.endlist) this.hint = { uri: new URL(hint.uri, url).href, after };
  }

  // The completed segments [from, from + count) as recorded, without their
  // parts, or undefined if any of them was never seen complete.
  segmentRange(from, count) {
    const list = [];
    for (let msn = from; msn < from + count; msn++) {
      const s = this.segments.get(msn);
      if (!s) return undefined;
      list.push({ msn, ...s });
    }
    return list;
  }
}

function firstPartAfter(playlist, position) {
  for (const s of playlist.segments) {
    for (const p of s.parts) {
      if (comparePositions({ msn: s.msn, part: p.index }, position) > 0) return { segment: s, part: p };
    }
  }
  return undefined;
}

export function formatPosition(p) {
  return p.part === undefined ? `segment ${p.msn}` : `part ${p.msn}.${p.part}`;
}
