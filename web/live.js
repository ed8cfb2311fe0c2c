// What the player page and the wall's tiles share about playing a live
// LL-HLS stream from Mirror with hls.js. Pure functions.

function retryPolicy(maxNumRetry) {
  return { maxNumRetry, retryDelayMs: 500, maxRetryDelayMs: 4000, backoff: 'exponential' };
}

// hls.js load policies: Mirror holds blocking playlist reloads and
// preload-hinted parts for up to a few target durations, so the first byte
// may take that long to come.
export function loadPolicies() {
  return {
    playlistLoadPolicy: {
      default: { maxTimeToFirstByteMs: 10000, maxLoadTimeMs: 20000, timeoutRetry: retryPolicy(2), errorRetry: retryPolicy(4) },
    },
    fragLoadPolicy: {
      default: { maxTimeToFirstByteMs: 10000, maxLoadTimeMs: 20000, timeoutRetry: retryPolicy(4), errorRetry: retryPolicy(6) },
    },
  };
}

// True when a media playlist's window (hls.js's LevelDetails: startSN,
// endSN) cannot follow the one seen before it: it begins more than one
// number after the earlier one ended, or ends before it began. Mirror
// numbers each instance of a stream past anything an earlier instance could
// reach, so this is a new instance (the publisher came back after the
// reconnect window, or through another node after a failover) or a player
// that fell out of the window. hls.js finds no segment in common to place
// the new ones by and may wait many seconds; a fresh start plays at once.
export function replacedInstance(previous, next) {
  if (!previous || !next) return false;
  const known = [previous.startSN, previous.endSN, next.startSN, next.endSN].every(Number.isFinite);
  return known && (next.startSN > previous.endSN + 1 || next.endSN < previous.startSN);
}

// Seconds of media buffered past the playhead.
export function bufferedAhead(video) {
  const t = video.currentTime;
  const ranges = video.buffered;
  for (let i = 0; i < ranges.length; i++) {
    if (ranges.start(i) <= t + 0.1 && t <= ranges.end(i)) return ranges.end(i) - t;
  }
  return 0;
}

// The wall-clock time of the picture on screen, from
// EXT-X-PROGRAM-DATE-TIME (hls.js's, or the browser's own for native HLS).
export function playingDate(hls, video) {
  if (hls) return hls.playingDate;
  const start = typeof video.getStartDate === 'function' ? video.getStartDate() : null;
  if (!start || isNaN(start.getTime())) return null;
  return new Date(start.getTime() + video.currentTime * 1000);
}

// A hole of up to SMALL_GAP_S in what is buffered (a part one track never
// got) freezes the picture until hls.js notices, which can take it seconds.
// Once the playhead has stood still for GAP_STALL_MS, a player steps to the
// position this returns (null: no small hole ahead), as Shaka Player jumps
// small gaps; larger holes are left to hls.js.
export const SMALL_GAP_S = 0.5;
export const GAP_STALL_MS = 500;
export function smallGapEnd(video) {
  const t = video.currentTime;
  const ranges = video.buffered;
  for (let i = 0; i < ranges.length; i++) {
    const start = ranges.start(i);
    if (start > t && start - t <= SMALL_GAP_S && ranges.end(i) - start > 0.2) return start + 0.01;
  }
  return null;
}
