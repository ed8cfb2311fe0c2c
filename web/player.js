// Mirror's player page: lists the live streams (GET /streams) and plays one
// with hls.js in low-latency mode, or natively where only the browser can
// (Safari without Media Source Extensions).
//
// Below the picture, the DVR bar seeks back in the stream's recording (its
// DVR playlist from the chosen moment on, without low-latency mode) and
// returns to live.
//
// Contract with the automated tests: once a player has its source, this page
// sets window.mirror = { hls, video, stream, mode } (hls is null for native
// playback; mode 'live' or 'dvr'), replaces it on every switch and sets it
// to null in between.
import { createScrubber } from './dvr.js';
import { GAP_STALL_MS, bufferedAhead, loadPolicies, playingDate, replacedInstance, smallGapEnd } from './live.js';

(function () {
  'use strict';

  const LIST_URL = '/streams';
  const LIST_INTERVAL_MS = 2000;
  const LIST_TIMEOUT_MS = 5000;
  const STATS_INTERVAL_MS = 250;
  const FATAL_RETRY_DELAY_MS = 2000;
  const FATAL_RETRY_LIMIT = 5;
  // After a non-fatal network error hls.js retries on its own. If nothing has
  // loaded by the time this backoff expires, loading is restarted by hand.
  const RESTART_BACKOFF_MS = [1000, 2000, 4000, 8000];
  // A second fatal media error this soon after a recovery is not recovered.
  const MEDIA_RECOVERY_WINDOW_MS = 60000;
  const ERRORS_SHOWN = 5;
  const STREAM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
  const VIEW = new URLSearchParams(window.location.search).get('view');
  // A signed playback URL's token (server.playback_secret): every playlist
  // Mirror serves carries it on, so only the first request needs it here.
  const TOKEN = new URLSearchParams(window.location.search).get('token');
  function withToken(url) {
    if (!TOKEN || /[?&]token=/.test(url)) return url;
    return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(TOKEN)}`;
  }
  const HLS_MIME = 'application/vnd.apple.mpegurl';

  const $ = (id) => document.getElementById(id);
  const ui = {
    video: $('video'),
    overlay: $('overlay'),
    overlayText: $('overlay-text'),
    nowName: $('now-name'),
    nowState: $('now-state'),
    list: $('stream-list'),
    listStatus: $('list-status'),
    listError: $('list-error'),
    listEmpty: $('list-empty'),
    status: $('stat-status'),
    latency: $('stat-latency'),
    glass: $('stat-glass'),
    target: $('stat-target'),
    resolution: $('stat-resolution'),
    buffer: $('stat-buffer'),
    dropped: $('stat-dropped'),
    stalls: $('stat-stalls'),
    rate: $('stat-rate'),
    source: $('stat-source'),
    errors: $('error-list'),
    errorsNone: $('errors-none'),
  };
  const scrubber = createScrubber($('dvr'), {
    withToken,
    onSeek: (ms) => {
      if (session) seekBack(session, ms);
    },
    onLive: () => {
      if (session) open(session.name);
    },
  });

  // The last list the server gave: name -> entry, in the server's order.
  let streams = new Map();
  let listLoaded = false; // a list has arrived at least once
  let listFailed = false; // the last request for the list failed
  const listItems = new Map(); // name -> <li>

  // What is selected and how it plays; replaced on every switch.
  let session = null;

  window.mirror = null;

  // ---------------------------------------------------------------- the list

  async function refreshList() {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), LIST_TIMEOUT_MS);
    try {
      const response = await fetch(LIST_URL, {
        cache: 'no-store',
        headers: { Accept: 'application/json' },
        signal: abort.signal,
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      const entries = body && Array.isArray(body.streams) ? body.streams : null;
      if (!entries) throw new Error('the answer has no "streams" list');
      listLoaded = true;
      listFailed = false;
      applyList(entries.filter((e) => e && typeof e.name === 'string'));
      showListError(null);
    } catch (err) {
      listFailed = true;
      const reason = err.name === 'AbortError' ? 'no answer' : err.message;
      showListError(`Cannot load the stream list (${reason}); trying again.`);
      if (session && !session.begun) tryStart(session);
    } finally {
      clearTimeout(timer);
      setTimeout(refreshList, LIST_INTERVAL_MS);
    }
  }

  function applyList(entries) {
    const previous = streams;
    streams = new Map(entries.map((e) => [e.name, e]));
    renderList(Array.from(streams.values()));
    if (session) followSelectedStream(session, previous.get(session.name));
  }

  function renderList(entries) {
    for (const [name, item] of listItems) {
      if (!streams.has(name)) {
        item.remove();
        listItems.delete(name);
      }
    }
    entries.forEach((entry, i) => {
      let item = listItems.get(entry.name);
      if (!item) {
        item = createListItem(entry.name);
        listItems.set(entry.name, item);
      }
      updateListItem(item, entry);
      // The server's order. Only moved when out of place: moving a node
      // takes the keyboard focus away from it.
      const at = ui.list.children[i];
      if (at !== item) ui.list.insertBefore(item, at || null);
    });
    const live = entries.filter((e) => e.state === 'live').length;
    ui.listStatus.textContent = entries.length ? `${live} of ${entries.length} live` : '';
    ui.listEmpty.hidden = entries.length > 0;
    ui.list.classList.remove('stale');
    markSelection();
  }

  function createListItem(name) {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'stream';
    button.dataset.name = name;
    const top = document.createElement('span');
    top.className = 'stream-top';
    const label = document.createElement('span');
    label.className = 'stream-name';
    label.textContent = name;
    const badge = document.createElement('span');
    badge.className = 'badge';
    top.append(label, badge);
    const meta = document.createElement('span');
    meta.className = 'stream-meta';
    button.append(top, meta);
    button.addEventListener('click', () => select(name));
    item.appendChild(button);
    return item;
  }

  function updateListItem(item, entry) {
    setBadge(item.querySelector('.badge'), entry.state);
    item.querySelector('.stream-meta').textContent = describeSource(entry) || '—';
  }

  function markSelection() {
    for (const [name, item] of listItems) {
      const button = item.firstElementChild;
      if (session && session.name === name) button.setAttribute('aria-current', 'true');
      else button.removeAttribute('aria-current');
    }
  }

  function showListError(message) {
    ui.listError.hidden = !message;
    ui.listError.textContent = message || '';
    if (message) {
      ui.list.classList.toggle('stale', listLoaded);
      if (!listLoaded) ui.listStatus.textContent = '';
    }
  }

  function setBadge(badge, state) {
    const known = ['starting', 'connecting', 'live', 'reconnecting', 'ended'];
    badge.textContent = state || 'unknown';
    badge.className = `badge state-${known.includes(state) ? state : 'unknown'}`;
    badge.hidden = false;
  }

  function describeSource(entry) {
    const parts = [];
    if (session && session.url && entry.multiview_url && session.url === entry.multiview_url) {
      parts.push('played through its H.264 rendition:');
    }
    const v = entry.video;
    const a = entry.audio;
    if (v) {
      if (v.width && v.height) parts.push(`${v.width}×${v.height}`);
      if (v.frame_rate) parts.push(`${+Number(v.frame_rate).toFixed(2)} fps`);
      if (v.codec) parts.push(v.codec);
    }
    if (a) {
      if (a.codec) parts.push(a.codec);
      if (a.sample_rate) parts.push(`${+(a.sample_rate / 1000).toFixed(1)} kHz`);
      if (a.channels) parts.push(a.channels === 1 ? 'mono' : a.channels === 2 ? 'stereo' : `${a.channels} ch`);
    }
    return parts.join(' · ');
  }

  // ----------------------------------------------------------- selection

  function select(name) {
    const s = session;
    if (s && s.name === name && !s.ended && !s.failed) return;
    const url = new URL(window.location.href);
    url.searchParams.set('stream', name);
    window.history.replaceState(null, '', url);
    open(name);
  }

  // A live session, or with `dvrFrom` (Unix ms) one that plays the recording.
  function open(name, dvrFrom = null) {
    if (session) closeSession(session);
    session = {
      name,
      dvr: dvrFrom !== null,
      dvrFrom,
      url: null,
      hls: null,
      begun: false, // a player was created
      playing: false, // playback has begun at least once
      ended: false,
      failed: false,
      seenInList: false,
      stalls: 0,
      fatalRetries: 0,
      restarts: 0,
      restartTimer: null,
      mediaRecoveredAt: 0,
      lastLoadAt: 0,
      window: null, // the media sequence numbers the last playlist listed
      errors: [],
      timers: new Set(),
    };
    ui.nowName.textContent = name;
    ui.nowState.hidden = true;
    renderErrors(session);
    markSelection();
    if (dvrFrom === null) scrubber.follow(name);
    tryStart(session);
  }

  // Plays the stream's recording from `ms` (Unix milliseconds) on, in a
  // session of its own: the DVR playlist grows while the stream records.
  function seekBack(current, ms) {
    open(current.name, ms);
  }

  function dvrUrl(name, ms) {
    return `/streams/${encodeURIComponent(name)}/dvr/index.m3u8?start=${(Math.floor(ms) / 1000).toFixed(3)}`;
  }

  function closeSession(s) {
    for (const t of s.timers) clearTimeout(t);
    s.timers.clear();
    if (s.hls) s.hls.destroy();
    else if (s.begun) {
      ui.video.removeAttribute('src');
      ui.video.load();
    }
    s.hls = null;
    window.mirror = null;
  }

  function later(s, fn, ms) {
    const t = setTimeout(() => {
      s.timers.delete(t);
      if (s === session) fn();
    }, ms);
    s.timers.add(t);
    return t;
  }

  // Starts playing once the stream is live, or at once when the list cannot
  // be had (then the playlist is where Mirror always puts it).
  function tryStart(s) {
    if (s.begun) return;
    if (s.dvr) {
      // The recording plays whether or not the stream is live now.
      start(s, dvrUrl(s.name, s.dvrFrom));
      return;
    }
    const entry = streams.get(s.name);
    if (entry) {
      s.seenInList = true;
      setNowState(entry.state);
      if (entry.state === 'live' || entry.state === 'reconnecting') {
        start(s, playbackUrl(entry));
        return;
      }
      setStatus(s, 'waiting', entry.state === 'ended'
        ? `${s.name} has ended; waiting for it to go live again`
        : `Waiting for ${s.name} to go live…`);
      return;
    }
    if (listFailed && !listLoaded) {
      start(s, defaultUrl(s.name));
      return;
    }
    setStatus(s, 'waiting', listLoaded ? `Waiting for ${s.name} to appear…` : `Loading ${s.name}…`);
  }

  // Keeps the selected stream in step with the list: it starts when it goes
  // live, is shown as ended when Mirror says so, and plays again when a
  // publisher brings an ended stream back.
  function followSelectedStream(s, before) {
    const entry = streams.get(s.name);
    if (entry) {
      s.seenInList = true;
      setNowState(entry.state);
    }
    if (!s.begun) {
      tryStart(s);
      return;
    }
    // A recording plays on whatever the stream does now.
    if (s.dvr) return;
    const wasLive = before && (before.state === 'live' || before.state === 'reconnecting');
    const isLive = entry && (entry.state === 'live' || entry.state === 'reconnecting');
    if ((s.ended || s.failed) && isLive && !wasLive) {
      open(s.name);
      return;
    }
    if (!s.ended && s.seenInList && (!entry || entry.state === 'ended')) {
      markEnded(s, entry ? 'the publisher has left' : 'the stream is gone');
    }
  }

  // Browsers decode H.264 but mostly not HEVC, and start only on an intra
  // picture: an HEVC source, one with intra refresh (segments start on
  // recovery points) or one that lost keyframes (segments cut without one)
  // plays through its H.264 renditions (the stream's multiview playlist);
  // any other source through its full playlist, source first. With
  // ?view=multiview the page plays the renditions only, as a wall does.
  function playbackUrl(entry) {
    const codec = entry.video && typeof entry.video.codec === 'string' ? entry.video.codec : '';
    const refresh = !!(entry.video && entry.video.gradual_refresh === true);
    const keyframeless = !!(entry.video && entry.video.segments_without_keyframe === true);
    const multiview = typeof entry.multiview_url === 'string' ? entry.multiview_url : null;
    if (multiview && (/^(hvc1|hev1)/.test(codec) || refresh || keyframeless || VIEW === 'multiview')) {
      return multiview;
    }
    return entry.url || defaultUrl(entry.name);
  }

  function defaultUrl(name) {
    return `/streams/${encodeURIComponent(name)}/index.m3u8`;
  }

  // ------------------------------------------------------------ playback

  function start(s, url) {
    s.begun = true;
    s.url = url;
    const video = ui.video;
    const hlsUsable = typeof Hls !== 'undefined' && Hls.isSupported();
    if (hlsUsable) {
      try {
        startHlsJs(s, url);
      } catch (err) {
        fail(s, `The player could not start: ${err.message}`);
      }
    } else if (video.canPlayType(HLS_MIME)) {
      setStatus(s, 'loading', `Loading ${s.name}…`);
      video.src = withToken(url);
      window.mirror = { hls: null, video, stream: s.name, mode: 'live' };
      playWhenAllowed(s);
    } else {
      s.failed = true;
      setStatus(s, 'error', 'This browser cannot play HLS (it has no Media Source Extensions).');
    }
  }

  function startHlsJs(s, url) {
    const hls = new Hls(s.dvr ? {
      // A recording: whole segments from where the viewer asked. Its
      // playlist grows while the stream records, so hls.js takes it for a
      // live one and may "synchronise" to its edge when it stalls: a sync
      // distance longer than any recording makes that point the start of
      // the window the viewer chose, never the live edge.
      lowLatencyMode: false,
      startPosition: 0,
      liveSyncDuration: 2 * 86400,
      liveMaxLatencyDuration: 4 * 86400,
      backBufferLength: 30,
      maxBufferLength: 20,
      ...loadPolicies(),
    } : {
      lowLatencyMode: true,
      // The target latency comes from the playlist's PART-HOLD-BACK (setting
      // liveSyncDuration* here would override it). hls.js only speeds up
      // while more than a second is buffered, which never happens this
      // close to the edge: keepUp() below does the catching up instead.
      maxLiveSyncPlaybackRate: 1,
      liveDurationInfinity: true,
      // A monitoring page may stay open for days: keep memory bounded.
      backBufferLength: 30,
      maxBufferLength: 10,
      ...loadPolicies(),
    });
    s.hls = hls;
    setStatus(s, 'loading', `Loading ${s.name}…`);

    hls.on(Hls.Events.MEDIA_ATTACHED, () => {
      if (s !== session) return;
      window.mirror = { hls, video: ui.video, stream: s.name, mode: s.dvr ? 'dvr' : 'live' };
    });
    hls.on(Hls.Events.MANIFEST_PARSED, (event, data) => {
      if (s !== session) return;
      pinBestLevel(hls, data.levels);
      noteLoad(s);
      playWhenAllowed(s);
    });
    const onPlaylist = (event, data) => {
      if (s !== session) return;
      noteLoad(s);
      const details = data.details;
      if (details && details.live === false) markEnded(s, 'the playlist has ended');
      if (details && !s.dvr && replacedInstance(s.window, details)) {
        // Another instance of the stream under the same URL: start afresh.
        open(s.name);
        return;
      }
      if (details) s.window = { startSN: details.startSN, endSN: details.endSN };
    };
    hls.on(Hls.Events.LEVEL_LOADED, onPlaylist);
    hls.on(Hls.Events.LEVEL_UPDATED, onPlaylist);
    hls.on(Hls.Events.FRAG_LOADED, () => {
      if (s !== session) return;
      noteLoad(s);
      s.fatalRetries = 0;
    });
    hls.on(Hls.Events.BUFFER_EOS, () => {
      if (s === session) markEnded(s, 'all of the stream is buffered');
    });
    hls.on(Hls.Events.ERROR, (event, data) => {
      if (s === session) onHlsError(s, data);
    });

    hls.loadSource(withToken(url));
    hls.attachMedia(ui.video);
  }

  // One stream on a monitoring page plays at the best quality the browser
  // decodes (hls.js has dropped the variants it cannot play), never switching:
  // hls.js's automatic switching takes a held LL-HLS request (a part not
  // produced yet) for a slow network, abandons it and switches down, and a
  // switch between variants with different audio groups (source audio,
  // transcoded audio) races its own audio buffer at startup.
  function pinBestLevel(hls, levels) {
    if (!Array.isArray(levels) || levels.length < 2) return;
    let best = 0;
    levels.forEach((level, i) => {
      if ((level.bitrate || 0) > (levels[best].bitrate || 0)) best = i;
    });
    // Where loading starts and stays; unlike currentLevel, this flushes
    // nothing and aborts no load.
    hls.startLevel = best;
    hls.loadLevel = best;
  }

  function noteLoad(s) {
    s.lastLoadAt = performance.now();
    s.restarts = 0;
  }

  function onHlsError(s, data) {
    recordError(s, data);
    const hls = s.hls;
    if (!data.fatal) {
      if (data.type === Hls.ErrorTypes.NETWORK_ERROR) scheduleRestart(s);
      return;
    }
    if (s.ended) {
      // Nothing more will come; the playlist or parts going away is expected.
      hls.stopLoad();
      return;
    }
    switch (data.type) {
      case Hls.ErrorTypes.NETWORK_ERROR: {
        if (s.fatalRetries >= FATAL_RETRY_LIMIT) {
          fail(s, `Network error (${data.details}); gave up after ${FATAL_RETRY_LIMIT} retries.`);
          return;
        }
        s.fatalRetries += 1;
        setStatus(s, 'retrying',
          `Network error (${data.details}); retry ${s.fatalRetries} of ${FATAL_RETRY_LIMIT} in ${FATAL_RETRY_DELAY_MS / 1000} s…`);
        later(s, () => {
          // Without a parsed playlist there is nothing for startLoad to resume.
          if (hls.levels && hls.levels.length) hls.startLoad();
          else hls.loadSource(withToken(s.url));
        }, FATAL_RETRY_DELAY_MS);
        return;
      }
      case Hls.ErrorTypes.MEDIA_ERROR: {
        const now = performance.now();
        if (s.mediaRecoveredAt && now - s.mediaRecoveredAt < MEDIA_RECOVERY_WINDOW_MS) {
          fail(s, `Media error (${data.details}); it came back after a recovery.`);
          return;
        }
        s.mediaRecoveredAt = now;
        setStatus(s, 'recovering', `Media error (${data.details}); recovering…`);
        hls.recoverMediaError();
        return;
      }
      default:
        fail(s, `Playback error (${data.details}).`);
    }
  }

  // Restarts loading if hls.js's own retries have not brought anything in,
  // waiting longer after each restart that did not help.
  function scheduleRestart(s) {
    if (s.restartTimer || s.ended || s.failed) return;
    const errorAt = performance.now();
    const delay = RESTART_BACKOFF_MS[Math.min(s.restarts, RESTART_BACKOFF_MS.length - 1)];
    s.restartTimer = later(s, () => {
      s.restartTimer = null;
      if (s.lastLoadAt > errorAt || s.ended || s.failed || !s.hls) return;
      s.restarts += 1;
      s.hls.startLoad();
    }, delay);
  }

  function fail(s, message) {
    s.failed = true;
    if (s.hls) s.hls.stopLoad();
    setStatus(s, 'error', message);
  }

  function markEnded(s, why) {
    if (s.ended) return;
    s.ended = true;
    setStatus(s, 'ended', `Stream ended: ${why}.`);
  }

  function playWhenAllowed(s) {
    const attempt = ui.video.play();
    if (!attempt) return;
    attempt.catch((err) => {
      if (s !== session || err.name === 'AbortError') return;
      if (err.name === 'NotAllowedError') {
        setStatus(s, 'paused', 'Autoplay was blocked: click the video to play.');
      } else {
        recordError(s, { type: 'playError', details: err.name, fatal: false, error: err });
      }
    });
  }

  // Native playback reports errors through the element alone.
  ui.video.addEventListener('error', () => {
    const s = session;
    const err = ui.video.error;
    if (!s || s.hls || !s.begun || !err) return;
    recordError(s, { type: 'mediaElementError', details: `code ${err.code}`, fatal: true, error: err });
    if (s.ended) return;
    if (s.fatalRetries >= FATAL_RETRY_LIMIT) {
      fail(s, `Playback error (code ${err.code}); gave up after ${FATAL_RETRY_LIMIT} retries.`);
      return;
    }
    s.fatalRetries += 1;
    setStatus(s, 'retrying', `Playback error (code ${err.code}); retry ${s.fatalRetries} of ${FATAL_RETRY_LIMIT}…`);
    later(s, () => {
      ui.video.src = withToken(s.url);
      playWhenAllowed(s);
    }, FATAL_RETRY_DELAY_MS);
  });

  ui.video.addEventListener('playing', () => {
    const s = session;
    if (!s || !s.begun) return;
    s.playing = true;
    if (!s.hls) s.fatalRetries = 0;
    if (!s.ended && !s.failed) setStatus(s, 'playing', null);
  });
  ui.video.addEventListener('waiting', () => {
    const s = session;
    if (!s || !s.playing || s.ended || s.failed) return;
    s.stalls += 1;
    setStatus(s, 'buffering', null);
  });
  ui.video.addEventListener('pause', () => {
    const s = session;
    if (s && s.playing && !s.ended && !s.failed && !ui.video.ended) setStatus(s, 'paused', null);
  });
  ui.video.addEventListener('ended', () => {
    if (session && session.begun) markEnded(session, 'playback reached the end');
  });
  ui.overlay.addEventListener('click', () => {
    if (session && session.begun && ui.video.paused) playWhenAllowed(session);
  });

  // ------------------------------------------------------------- display

  function setStatus(s, status, message) {
    if (s !== session) return;
    ui.status.textContent = status;
    ui.status.className = `status-${status}`;
    ui.overlayText.textContent = message || '';
    ui.overlay.hidden = !message;
    ui.overlay.classList.toggle('clickable', status === 'paused');
  }

  function setNowState(state) {
    setBadge(ui.nowState, state);
  }

  function recordError(s, data) {
    const parts = [data.fatal ? 'fatal' : 'non-fatal', data.type, data.details];
    if (data.response && data.response.code) parts.push(`HTTP ${data.response.code}`);
    if (data.error && data.error.message) parts.push(data.error.message);
    s.errors.push({ at: new Date(), text: parts.filter(Boolean).join(' · '), fatal: !!data.fatal });
    if (s.errors.length > ERRORS_SHOWN) s.errors.splice(0, s.errors.length - ERRORS_SHOWN);
    renderErrors(s);
  }

  function renderErrors(s) {
    ui.errors.textContent = '';
    for (const e of s.errors.slice().reverse()) {
      const item = document.createElement('li');
      if (e.fatal) item.className = 'fatal';
      const time = document.createElement('time');
      time.dateTime = e.at.toISOString();
      time.textContent = e.at.toLocaleTimeString();
      item.append(time, ` ${e.text}`);
      ui.errors.appendChild(item);
    }
    ui.errorsNone.hidden = s.errors.length > 0;
  }

  function liveLatency(s, video) {
    if (s.hls) return s.hls.latency || null;
    const seekable = video.seekable;
    if (!seekable.length) return null;
    const edge = seekable.end(seekable.length - 1);
    return Number.isFinite(edge) ? Math.max(0, edge - video.currentTime) : null;
  }

  // Catching up with the live edge: a player starts, or falls, a little
  // behind its target latency (loading the first parts takes time) and
  // hls.js never recovers that at low latency. Play slightly faster while
  // behind and while some media is buffered ahead; the browser keeps the
  // pitch of the audio. Far behind (a start that took long on a busy
  // machine, a tab that was in the background), catching up would take
  // minutes: jump to the live edge instead, at most once every
  // JUMP_INTERVAL_MS.
  const CATCH_UP_RATE = 1.15;
  const JUMP_BEHIND_S = 4;
  const JUMP_INTERVAL_MS = 10000;
  function keepUp(s, video) {
    if (!s.hls || s.dvr || !s.playing || video.paused) return;
    const latency = s.hls.latency;
    const target = s.hls.targetLatency;
    if (typeof latency !== 'number' || typeof target !== 'number') return;
    const behind = latency - target;
    const edge = s.hls.liveSyncPosition;
    const now = Date.now();
    if (behind > JUMP_BEHIND_S && typeof edge === 'number' && edge > video.currentTime &&
        !(now - (s.lastJumpAt || 0) < JUMP_INTERVAL_MS)) {
      s.lastJumpAt = now;
      video.currentTime = edge;
      return;
    }
    const ahead = bufferedAhead(video);
    // Faster only with a few parts in hand: playing at 1.15x eats into the
    // buffer, and a buffer of one part stalls on the first late one.
    let rate = 1;
    if (behind > 0.1 && ahead > 0.3) rate = CATCH_UP_RATE;
    else if (video.playbackRate > 1 && behind > 0.03 && ahead > 0.25) rate = video.playbackRate;
    if (video.playbackRate !== rate) video.playbackRate = rate;
  }

  // Steps over a small hole in what is buffered (live.js says where).
  function skipSmallGap(s, video) {
    const now = Date.now();
    const t = video.currentTime;
    if (!s.playing || video.paused || video.seeking || video.ended || s.stillAt !== t) {
      s.stillAt = t;
      s.stillSince = now;
      return;
    }
    if (now - s.stillSince < GAP_STALL_MS) return;
    const to = smallGapEnd(video);
    if (to !== null) {
      s.gapsSkipped = (s.gapsSkipped || 0) + 1;
      s.stillSince = now;
      video.currentTime = to;
    }
  }

  function updateStats() {
    const s = session;
    const video = ui.video;
    if (!s || !s.begun) {
      for (const el of [ui.latency, ui.glass, ui.target, ui.resolution, ui.buffer, ui.dropped,
        ui.stalls, ui.rate]) el.textContent = '—';
      if (!s) ui.status.textContent = 'idle';
      ui.source.textContent = s && streams.has(s.name) ? describeSource(streams.get(s.name)) || '—' : '—';
      return;
    }
    const active = s.playing;
    keepUp(s, video);
    skipSmallGap(s, video);
    const latency = active ? liveLatency(s, video) : null;
    ui.latency.textContent = latency === null ? '—' : `${latency.toFixed(2)} s`;
    const date = active ? playingDate(s.hls, video) : null;
    ui.glass.textContent = date ? `${Math.round(Date.now() - date.getTime())} ms` : '—';
    scrubber.show(date ? date.getTime() : null, s.dvr ? 'dvr' : 'live');
    const target = s.hls ? s.hls.targetLatency : null;
    ui.target.textContent = typeof target === 'number' ? `${target.toFixed(2)} s` : '—';
    ui.resolution.textContent = video.videoWidth ? `${video.videoWidth}×${video.videoHeight}` : '—';
    ui.buffer.textContent = `${bufferedAhead(video).toFixed(2)} s`;
    const quality = typeof video.getVideoPlaybackQuality === 'function'
      ? video.getVideoPlaybackQuality() : null;
    ui.dropped.textContent = quality
      ? `${quality.droppedVideoFrames} of ${quality.totalVideoFrames}` : '—';
    ui.stalls.textContent = String(s.stalls);
    ui.rate.textContent = `${video.playbackRate.toFixed(2)}×`;
    const entry = streams.get(s.name);
    ui.source.textContent = entry ? describeSource(entry) || '—' : '—';
  }

  // ---------------------------------------------------------------- start

  // The example in the empty list names this host; the SRT port is Mirror's default.
  const example = $('publish-example');
  example.textContent = example.textContent.replace('HOST', window.location.hostname || 'HOST');

  const wanted = new URLSearchParams(window.location.search).get('stream');
  if (wanted !== null) {
    if (STREAM_NAME.test(wanted)) {
      open(wanted);
    } else {
      ui.overlayText.textContent = `“${wanted}” is not a stream name (1 to 64 of A–Z a–z 0–9 _ -).`;
    }
  }
  setInterval(updateStats, STATS_INTERVAL_MS);
  refreshList();
})();
