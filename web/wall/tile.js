// One tile of the wall: plays one stream's multiview rendition (the
// transcoded-only multivariant playlist, or the stream's own playlist when
// the server does not transcode) with hls.js, muted, with small buffers; and
// shows its name, a state badge, the live latency from
// EXT-X-PROGRAM-DATE-TIME, audio meters fed by the server, warnings for a
// frozen picture or silence, and a slate with the last picture once the
// stream has ended. The tile resumes by itself when its stream returns.
//
// Owner: the page's main thread (everything here runs on it).
import { GAP_STALL_MS, bufferedAhead, loadPolicies, playingDate, replacedInstance, smallGapEnd } from '../live.js';
import { Meters } from './meters.js';

const THUMBNAIL_EVERY_MS = 15000;
const RESTART_BACKOFF_MS = [1000, 2000, 4000, 8000, 15000];
// Far behind the live edge (a slow start, a background tab): jump to it.
const JUMP_BEHIND_S = 2.5;
const JUMP_INTERVAL_MS = 10000;
// The playhead standing still this long while the stream is live is a stall.
const STALL_AFTER_MS = 1000;
// A second fatal media error this soon after a recovery restarts the player.
const MEDIA_RECOVERY_WINDOW_MS = 60000;
const HLS_MIME = 'application/vnd.apple.mpegurl';

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class Tile {
  // options: { withToken(url), lowLatency, onSelect(tile), onOpen(tile) }
  constructor(parent, index, options) {
    this.index = index;
    this.options = options;
    this.name = null;
    this.info = null; // the server's summary of the stream, or null
    this.present = false; // the server lists the stream
    this.hls = null;
    this.native = false;
    this.restarts = 0; // failed starts in a row (the backoff)
    this.starts = 0; // players started for this tile, ever
    this.restartTimer = null;
    this.stalls = 0;
    this.stalled = false;
    this.gapsSkipped = 0;
    this.jumps = 0;
    this.lastJumpAt = 0;
    this.mediaRecoveredAt = 0;
    this.health = { frozen: false, silent: false };
    this.thumbnailUrl = null; // object URL of the last thumbnail fetched
    this.thumbnailAt = 0;
    this.endedAt = null;
    this.stillAt = -1;
    this.stillSince = 0;
    this.problem = null;
    this.lastError = null;
    this.muted = true;
    this.withAudio = false; // the player fetches the sound
    this.selected = false;

    this.root = el('div', 'tile is-empty');
    this.root.dataset.slot = String(index + 1);
    this.video = el('video', 'tile-video');
    this.video.muted = true;
    this.video.playsInline = true;
    this.video.autoplay = true;
    this.picture = el('img', 'tile-picture');
    this.picture.alt = '';
    this.picture.hidden = true;
    this.slate = el('div', 'tile-slate');
    this.slateTitle = el('span', 'slate-title');
    this.slateText = el('span', 'slate-text');
    this.slate.append(this.slateTitle, this.slateText);
    const top = el('div', 'tile-top');
    this.number = el('span', 'tile-number', String(index + 1));
    this.label = el('span', 'tile-name');
    this.badge = el('span', 'badge');
    this.badge.hidden = true;
    top.append(this.number, this.label, this.badge);
    const bottom = el('div', 'tile-bottom');
    this.latency = el('span', 'tile-latency');
    this.latency.title = 'Now minus the wall-clock time of the picture on screen (EXT-X-PROGRAM-DATE-TIME)';
    this.warnings = el('span', 'tile-warnings');
    this.audio = el('span', 'tile-audio');
    bottom.append(this.latency, this.warnings, this.audio);
    this.root.append(this.video, this.picture, this.slate, top, bottom);
    this.meters = new Meters(this.root);

    this.root.addEventListener('click', () => this.options.onSelect(this));
    this.root.addEventListener('dblclick', () => { if (this.name) this.options.onOpen(this); });
    this.video.addEventListener('playing', () => this.render());
    this.video.addEventListener('loadeddata', () => this.render());
    parent.append(this.root);
    this.render();
  }

  // ------------------------------------------------------------ what it shows

  // Shows stream `name` (or nothing); `info` is the server's summary when
  // the server lists the stream.
  assign(name, info) {
    if (name === this.name) {
      this.update(info);
      return;
    }
    this.stop();
    this.name = name;
    this.info = null;
    this.present = false;
    this.endedAt = null;
    this.health = { frozen: false, silent: false };
    this.stalls = 0;
    this.restarts = 0;
    this.forgetThumbnail();
    this.meters.clear();
    this.update(info);
  }

  // The server's summary changed (state, playlist URL), or the stream is
  // listed again after it ended.
  update(info) {
    if (!this.name) {
      this.render();
      return;
    }
    const before = this.info ? this.info.state : null;
    if (info) {
      this.info = info;
      this.present = true;
      if (info.state !== 'ended') this.endedAt = null;
    }
    const state = this.state();
    if (state === 'live') {
      // Back from a reconnect with a player that stopped moving: start over.
      if (before === 'reconnecting' && this.playerStarted() && this.stalled) this.stop();
      if (!this.playerStarted() && !this.restartTimer) this.start();
      this.refreshThumbnail();
    } else if (state === 'ended') {
      this.end();
    }
    this.render();
  }

  // The server no longer lists the stream.
  gone() {
    if (!this.name) return;
    this.present = false;
    this.info = this.info ? { ...this.info, state: 'ended' } : { name: this.name, state: 'ended' };
    this.end();
    this.render();
  }

  state() {
    if (!this.name) return 'empty';
    if (!this.info) return 'waiting';
    return this.info.state || 'connecting';
  }

  // health: {state, frozen, silent} from the server, every second.
  setHealth(h) {
    if (!this.name || !h) return;
    this.health = { frozen: !!h.frozen, silent: !!h.silent };
    if (this.info && h.state && h.state !== this.info.state) this.update({ ...this.info, state: h.state });
    this.render();
  }

  setLevels(l) {
    if (!this.name || this.state() === 'ended' || !l) {
      this.meters.clear();
      return;
    }
    this.meters.update(l.peak, l.rms);
  }

  // A muted tile plays the video alone (no sound fetched or decoded: its
  // meters come from the server); hearing it starts its player again with
  // the sound, and muting it again goes back to the video alone.
  setMuted(muted) {
    if (muted === this.muted) return;
    this.muted = muted;
    this.video.muted = muted;
    if (this.playerStarted() && this.withAudio === muted) {
      this.stop();
      this.start();
    }
    this.render();
  }

  setSelected(selected) {
    this.selected = selected;
    this.root.classList.toggle('is-selected', selected);
  }

  // ------------------------------------------------------------ the player

  playerStarted() {
    return !!this.hls || this.native;
  }

  playlistUrl() {
    const url = (this.info && this.info.multiview_url) || `/streams/${encodeURIComponent(this.name)}/index.m3u8`;
    return this.options.withToken(this.muted ? `${url}${url.includes('?') ? '&' : '?'}audio=none` : url);
  }

  start() {
    clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const url = this.playlistUrl();
    this.withAudio = !this.muted;
    this.starts += 1;
    this.stalled = false;
    this.stillAt = -1;
    this.stillSince = Date.now();
    if (window.Hls && window.Hls.isSupported()) {
      this.startHlsJs(url);
    } else if (this.video.canPlayType(HLS_MIME)) {
      this.native = true;
      this.video.src = url;
    } else {
      this.problem = 'This browser cannot play HLS (no Media Source Extensions).';
      this.render();
      return;
    }
    this.video.play().catch(() => {});
  }

  startHlsJs(url) {
    const Hls = window.Hls;
    const hls = new Hls({
      lowLatencyMode: this.options.lowLatency,
      liveDurationInfinity: true,
      // A wall holds up to 25 of these in one tab: a few seconds each.
      maxBufferLength: 3,
      maxMaxBufferLength: 6,
      backBufferLength: 3,
      maxBufferSize: 8 * 1024 * 1024,
      // The rendition that fits the tile (a multiview playlist may list two).
      capLevelToPlayerSize: true,
      // Catching up is done here (tick): hls.js only speeds up with more
      // than a second buffered, which never happens this close to the edge.
      // (hls.js moves its target a second further from live after each
      // stall, by one target duration at most: a tile on a busy machine
      // settles a little further back instead of stalling again and again.)
      maxLiveSyncPlaybackRate: 1,
      ...loadPolicies(),
    });
    this.hls = hls;
    hls.on(Hls.Events.ERROR, (_event, data) => this.onHlsError(hls, data));
    hls.on(Hls.Events.FRAG_BUFFERED, () => {
      if (this.hls === hls) this.restarts = 0;
    });
    // Another instance of the stream under the same URL (a failover, a
    // publisher back after the reconnect window): start afresh.
    let seen = null;
    hls.on(Hls.Events.LEVEL_LOADED, (_event, data) => {
      if (this.hls !== hls || !data.details) return;
      if (replacedInstance(seen, data.details)) {
        this.stop();
        this.start();
        return;
      }
      seen = { startSN: data.details.startSN, endSN: data.details.endSN };
    });
    hls.loadSource(url);
    hls.attachMedia(this.video);
  }

  onHlsError(hls, data) {
    if (this.hls !== hls || !data.fatal) return;
    const Hls = window.Hls;
    const now = Date.now();
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && now - this.mediaRecoveredAt > MEDIA_RECOVERY_WINDOW_MS) {
      this.mediaRecoveredAt = now;
      hls.recoverMediaError();
      return;
    }
    this.lastError = `${data.type}: ${data.details}`;
    this.stop();
    this.scheduleRestart();
  }

  scheduleRestart() {
    const state = this.state();
    if (state !== 'live' && state !== 'reconnecting') return;
    const delay = RESTART_BACKOFF_MS[Math.min(this.restarts, RESTART_BACKOFF_MS.length - 1)];
    this.restarts += 1;
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      const s = this.state();
      if (s === 'live' || s === 'reconnecting') this.start();
    }, delay);
    this.render();
  }

  stop() {
    clearTimeout(this.restartTimer);
    this.restartTimer = null;
    if (this.hls) {
      this.hls.destroy();
      this.hls = null;
    }
    if (this.native || this.video.getAttribute('src')) {
      this.video.removeAttribute('src');
      this.video.load();
    }
    this.native = false;
    this.problem = null;
  }

  // The stream ended: keep its last picture on the slate, free the player.
  end() {
    if (this.endedAt === null) this.endedAt = new Date();
    if (this.playerStarted()) {
      this.keepLastPicture();
      this.stop();
    } else if (this.thumbnailUrl && this.picture.hidden) {
      this.picture.src = this.thumbnailUrl;
    }
    this.meters.clear();
    this.health = { frozen: false, silent: false };
  }

  keepLastPicture() {
    const v = this.video;
    if (v.videoWidth > 0 && v.readyState >= 2) {
      try {
        const canvas = document.createElement('canvas');
        canvas.width = v.videoWidth;
        canvas.height = v.videoHeight;
        canvas.getContext('2d').drawImage(v, 0, 0);
        this.picture.src = canvas.toDataURL('image/jpeg', 0.8);
        return;
      } catch {
        // Fall back to the server's thumbnail.
      }
    }
    if (this.thumbnailUrl) this.picture.src = this.thumbnailUrl;
  }

  // The server's thumbnail, fetched now and then while live: the picture
  // the tile shows while its player starts, and the slate's picture if the
  // stream ends before one frame has played.
  async refreshThumbnail(force = false) {
    if (!this.info || !this.info.thumbnail_url) return;
    const now = Date.now();
    if (!force && now - this.thumbnailAt < THUMBNAIL_EVERY_MS) return;
    this.thumbnailAt = now;
    const name = this.name;
    try {
      const response = await fetch(this.options.withToken(this.info.thumbnail_url), { cache: 'no-store' });
      if (!response.ok || this.name !== name) return;
      const blob = await response.blob();
      if (this.name !== name) return;
      this.forgetThumbnail();
      this.thumbnailUrl = URL.createObjectURL(blob);
      this.thumbnailAt = now;
      if (!this.video.poster || this.video.readyState < 2) this.video.poster = this.thumbnailUrl;
    } catch {
      // A thumbnail is a nicety; the next round tries again.
    }
  }

  forgetThumbnail() {
    if (this.thumbnailUrl) URL.revokeObjectURL(this.thumbnailUrl);
    this.thumbnailUrl = null;
    this.thumbnailAt = 0;
    this.video.removeAttribute('poster');
  }

  // ------------------------------------------------------------ each tick

  // Called every 250 ms: latency, stalls, catching up, small gaps.
  tick() {
    if (!this.playerStarted()) {
      this.latency.textContent = '';
      return;
    }
    const v = this.video;
    const now = Date.now();
    if (v.paused && !v.ended && v.readyState >= 2) v.play().catch(() => {});
    // Stalls: the playhead standing still while the stream is live.
    if (v.currentTime !== this.stillAt || v.paused) {
      this.stillAt = v.currentTime;
      this.stillSince = now;
      if (this.stalled) {
        this.stalled = false;
        this.render();
      }
    } else if (!this.stalled && v.currentTime > 0 && now - this.stillSince > STALL_AFTER_MS && this.state() === 'live') {
      this.stalled = true;
      this.stalls += 1;
      this.render();
    }
    if (this.hls) {
      this.keepUp(now);
      this.skipSmallGap(now);
    }
    const ms = this.latencyMs();
    this.latency.textContent = ms === null ? '' : `${(ms / 1000).toFixed(1)} s`;
    this.root.classList.toggle('is-late', ms !== null && ms > 5000);
    this.refreshThumbnail();
  }

  latencyMs() {
    if (!this.playerStarted() || this.video.readyState < 2) return null;
    const date = playingDate(this.hls, this.video);
    if (!date || isNaN(date.getTime())) return null;
    return Math.max(0, Date.now() - date.getTime());
  }

  keepUp(now) {
    const hls = this.hls;
    const v = this.video;
    const latency = hls.latency;
    const target = hls.targetLatency;
    const edge = hls.liveSyncPosition;
    if (v.paused || typeof latency !== 'number' || typeof target !== 'number' || typeof edge !== 'number') return;
    if (latency - target > JUMP_BEHIND_S && edge > v.currentTime && now - this.lastJumpAt > JUMP_INTERVAL_MS) {
      this.lastJumpAt = now;
      this.jumps += 1;
      v.currentTime = edge;
    }
  }

  skipSmallGap(now) {
    const v = this.video;
    if (v.paused || v.seeking || now - this.stillSince < GAP_STALL_MS) return;
    const to = smallGapEnd(v);
    if (to !== null) {
      this.gapsSkipped += 1;
      this.stillSince = now;
      v.currentTime = to;
    }
  }

  // ------------------------------------------------------------ drawing

  render() {
    const state = this.state();
    const r = this.root;
    r.classList.toggle('is-empty', state === 'empty');
    r.classList.toggle('is-ended', state === 'ended');
    r.classList.toggle('is-frozen', this.health.frozen && state === 'live');
    r.classList.toggle('is-silent', this.health.silent && state === 'live');
    r.classList.toggle('is-stalled', this.stalled);
    r.classList.toggle('is-soloed', !this.muted);
    r.dataset.stream = this.name || '';
    r.dataset.state = state;
    this.label.textContent = this.name || '';
    this.label.title = this.name || '';
    const known = ['connecting', 'live', 'reconnecting', 'ended'];
    this.badge.hidden = !this.name || state === 'waiting';
    this.badge.textContent = state;
    this.badge.className = `badge state-${known.includes(state) ? state : 'unknown'}`;

    const warnings = [];
    if (state === 'live' && this.health.frozen) warnings.push('frozen');
    if (state === 'live' && this.health.silent) warnings.push('silent');
    if (this.stalled && !this.health.frozen) warnings.push('buffering');
    this.warnings.replaceChildren(...warnings.map((w) => el('span', `warning warning-${w}`, w)));
    this.audio.textContent = this.name && !this.muted ? 'audio' : '';

    const playing = this.playerStarted() && this.video.readyState >= 2;
    let title = '';
    let text = '';
    if (state === 'empty') {
      text = 'empty';
    } else if (state === 'waiting') {
      title = this.name;
      text = 'waiting for this stream';
    } else if (state === 'ended') {
      title = 'ended';
      text = this.endedAt ? `at ${this.endedAt.toLocaleTimeString()} · resumes when it returns` : 'resumes when it returns';
    } else if (this.problem) {
      text = this.problem;
    } else if (!playing) {
      text = state === 'connecting' ? 'connecting…' : this.restartTimer ? 'retrying…' : 'starting…';
    }
    this.slate.hidden = !title && !text;
    this.slateTitle.textContent = title;
    this.slateText.textContent = text;
    this.picture.hidden = state !== 'ended' || !this.picture.getAttribute('src');
    if (state !== 'ended' && this.picture.getAttribute('src')) this.picture.removeAttribute('src');
  }

  // What the tile shows and how it plays, for the page's tests.
  snapshot() {
    const v = this.video;
    const quality = typeof v.getVideoPlaybackQuality === 'function' ? v.getVideoPlaybackQuality() : null;
    return {
      slot: this.index + 1,
      name: this.name,
      state: this.state(),
      badge: this.badge.hidden ? null : this.badge.textContent,
      playing: this.playerStarted() && !v.paused && v.readyState >= 2,
      currentTime: v.currentTime,
      latencyMs: this.latencyMs(),
      edgeLatencyS: this.hls && typeof this.hls.latency === 'number' ? this.hls.latency : null,
      targetLatencyS: this.hls && typeof this.hls.targetLatency === 'number' ? this.hls.targetLatency : null,
      lowLatency: !!this.options.lowLatency,
      levels: this.meters.levels(),
      warnings: [...this.warnings.children].map((w) => w.textContent),
      slate: this.slate.hidden ? null : `${this.slateTitle.textContent} ${this.slateText.textContent}`.trim(),
      picture: !this.picture.hidden,
      muted: v.muted,
      withAudio: this.playerStarted() && this.withAudio,
      selected: this.selected,
      stalls: this.stalls,
      restarts: this.restarts,
      starts: this.starts,
      jumps: this.jumps,
      gapsSkipped: this.gapsSkipped,
      droppedFrames: quality ? quality.droppedVideoFrames : null,
      totalFrames: quality ? quality.totalVideoFrames : null,
      bufferedAhead: bufferedAhead(v),
      lastError: this.lastError || null,
    };
  }

  destroy() {
    this.stop();
    this.forgetThumbnail();
    this.root.remove();
  }
}
