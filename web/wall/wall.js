// Mirror's multiview wall (/wall on the delivery port): up to 25 streams at
// once, each in a tile (tile.js), arranged by layout.js, kept up to date by
// the server's event stream (GET /streams/events: streams added, changed
// and ended, health each second, audio levels five times a second).
//
//   /wall?layout=3x3&streams=cam1,cam2,-,cam4&token=T
//     layout   1x1 .. 5x5; without it the wall grows with the streams
//     streams  which stream each slot shows ("-" keeps a slot empty);
//              without it, the live streams in name order
//     token    an all-streams playback token (server.playback_secret)
//
// Contract with the automated tests: window.mirrorWall.snapshot() describes
// the layout and every tile (tile.js's snapshot()).
import { onJsonEvent } from './events.js';
import { Tile } from './tile.js';
import {
  assignSlots, autoSize, formatStreams, layoutName, moveSelection, parseLayout, parseStreams, slotOfDigit,
} from './layout.js';

const EVENTS_URL = '/streams/events';
const TICK_MS = 250;

const params = new URLSearchParams(window.location.search);
const TOKEN = params.get('token');
const $ = (id) => document.getElementById(id);

// Over HTTP/1.1 a browser opens six connections to a server, the event
// stream keeps one, and a low-latency player holds one or two in blocking
// playlist reloads: more than one tile would starve the others. Tiles then
// play at standard latency (playlist polling, whole segments); over HTTP/2
// or HTTP/3 every tile is low-latency.
const PROTOCOL = (performance.getEntriesByType('navigation')[0] || {}).nextHopProtocol || '';
const MULTIPLEXED = /^(h2|h3)/.test(PROTOCOL);

const state = {
  size: parseLayout(params.get('layout')), // null: grows with the streams
  pinned: parseStreams(params.get('streams')), // null: the live streams
  streams: new Map(), // name -> the server's summary, while it lists the stream
  slots: [],
  tiles: [],
  effectiveSize: 1,
  lowLatency: null,
  selected: null,
  soloed: null,
  connected: false,
  events: null,
};

function withToken(url) {
  if (!TOKEN || /[?&]token=/.test(url)) return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(TOKEN)}`;
}

// ------------------------------------------------------------ arrangement

function arrange() {
  const present = [...state.streams.keys()];
  let size = state.size;
  if (!size) {
    const shown = new Set([...present, ...state.slots.filter(Boolean)]);
    size = autoSize(state.pinned ? state.pinned.length : shown.size);
  }
  const capacity = size * size;
  state.slots = assignSlots(state.slots, present, capacity, state.pinned);
  state.effectiveSize = size;

  const lowLatency = MULTIPLEXED || capacity === 1;
  if (state.lowLatency !== lowLatency) {
    for (const t of state.tiles) t.destroy();
    state.tiles = [];
    state.lowLatency = lowLatency;
  }
  const grid = $('grid');
  while (state.tiles.length > capacity) state.tiles.pop().destroy();
  while (state.tiles.length < capacity) {
    state.tiles.push(new Tile(grid, state.tiles.length, {
      withToken,
      lowLatency,
      onSelect: (tile) => {
        select(tile.index);
        solo(state.soloed === tile.index ? null : tile.index);
      },
      onOpen: openPlayer,
    }));
  }
  grid.style.setProperty('--size', String(size));
  state.slots.forEach((name, i) => state.tiles[i].assign(name, name ? state.streams.get(name) : undefined));
  if (state.selected !== null && state.selected >= capacity) select(null);
  if (state.soloed !== null && (state.soloed >= capacity || !state.slots[state.soloed])) solo(null);
  updateUrl();
  updateBar();
}

function updateUrl() {
  const url = new URL(window.location.href);
  if (state.size) url.searchParams.set('layout', layoutName(state.size));
  else url.searchParams.delete('layout');
  if (state.pinned) url.searchParams.set('streams', formatStreams(state.pinned));
  else url.searchParams.delete('streams');
  if (url.href !== window.location.href) window.history.replaceState(null, '', url.href);
}

function updateBar() {
  const live = [...state.streams.values()].filter((s) => s.state === 'live').length;
  $('live-count').textContent = `${live} live`;
  $('layout').value = layoutName(state.size);
  const pin = $('pin');
  pin.textContent = state.pinned ? 'Follow live streams' : 'Keep these streams';
  pin.title = state.pinned
    ? 'Show the live streams in name order again'
    : 'Keep these streams in these places (the URL remembers them)';
  $('protocol-note').hidden = state.lowLatency !== false;
}

// ------------------------------------------------------------ events

function connect() {
  const source = new EventSource(EVENTS_URL);
  state.events = source;
  const on = (name, handler) => onJsonEvent(source, name, handler);
  on('hello', (d) => {
    setConnected(true);
    const list = Array.isArray(d.streams) ? d.streams.filter(validSummary) : [];
    state.streams = new Map(list.map((s) => [s.name, s]));
    // Streams that ended while the wall was not listening.
    for (const t of state.tiles) if (t.name && !state.streams.has(t.name) && t.present) t.gone();
    arrange();
  });
  const upsert = (d) => {
    if (!validSummary(d)) return;
    state.streams.set(d.name, d);
    arrange();
  };
  on('stream.added', upsert);
  on('stream.changed', upsert);
  on('stream.ended', (d) => {
    if (typeof d.name !== 'string') return;
    state.streams.delete(d.name);
    for (const t of state.tiles) if (t.name === d.name) t.gone();
    arrange();
  });
  on('health', (d) => {
    const streams = d.streams && typeof d.streams === 'object' ? d.streams : {};
    for (const t of state.tiles) if (t.name && streams[t.name]) t.setHealth(streams[t.name]);
  });
  on('levels', (d) => {
    const streams = d.streams && typeof d.streams === 'object' ? d.streams : {};
    for (const t of state.tiles) t.setLevels(t.name ? streams[t.name] : null);
  });
  source.onerror = () => setConnected(false);
}

function validSummary(s) {
  return s && typeof s.name === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(s.name);
}

function setConnected(connected) {
  state.connected = connected;
  const c = $('connection');
  c.textContent = connected ? 'live' : 'reconnecting…';
  c.className = `connection ${connected ? 'is-live' : 'is-down'}`;
}

// ------------------------------------------------------------ interaction

function select(index) {
  state.selected = index;
  state.tiles.forEach((t, i) => t.setSelected(i === index));
}

// Unmutes one tile and mutes all others; null mutes every tile.
function solo(index) {
  state.soloed = index;
  state.tiles.forEach((t, i) => t.setMuted(i !== index));
}

function openPlayer(tile) {
  const url = new URL('/', window.location.href);
  url.searchParams.set('stream', tile.name);
  if (TOKEN) url.searchParams.set('token', TOKEN);
  window.open(url.href, '_blank', 'noopener');
}

function toggleFullscreen() {
  if (document.fullscreenElement) {
    document.exitFullscreen().catch(() => {});
    return;
  }
  const tile = state.selected !== null ? state.tiles[state.selected] : null;
  (tile ? tile.root : $('grid')).requestFullscreen().catch(() => {});
}

document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.target instanceof HTMLSelectElement || e.target instanceof HTMLInputElement) return;
  const digit = slotOfDigit(e.key);
  if (digit !== null) {
    if (digit < state.tiles.length) {
      select(digit);
      if (state.slots[digit]) solo(digit);
    }
  } else if (e.key === 'm') {
    if (state.soloed !== null) solo(null);
    else if (state.selected !== null && state.slots[state.selected]) solo(state.selected);
  } else if (e.key === 'f') {
    toggleFullscreen();
  } else if (e.key === 'Enter') {
    if (state.selected !== null && state.slots[state.selected]) openPlayer(state.tiles[state.selected]);
  } else if (e.key.startsWith('Arrow')) {
    select(moveSelection(state.selected, e.key, state.effectiveSize, state.tiles.length));
  } else if (e.key === '?') {
    $('help').hidden = !$('help').hidden;
  } else if (e.key === 'Escape') {
    $('help').hidden = true;
    select(null);
  } else {
    return;
  }
  e.preventDefault();
});

$('layout').addEventListener('change', () => {
  state.size = parseLayout($('layout').value);
  arrange();
});

$('pin').addEventListener('click', () => {
  state.pinned = state.pinned ? null : (state.slots.some(Boolean) ? state.slots.slice() : null);
  arrange();
});

$('help-button').addEventListener('click', () => { $('help').hidden = !$('help').hidden; });

// ------------------------------------------------------------ start

window.mirrorWall = {
  snapshot: () => ({
    layout: layoutName(state.size),
    size: state.effectiveSize,
    slots: state.slots.slice(),
    pinned: state.pinned,
    connected: state.connected,
    protocol: PROTOCOL,
    lowLatency: state.lowLatency,
    selected: state.selected,
    soloed: state.soloed,
    tiles: state.tiles.map((t) => t.snapshot()),
  }),
};

setInterval(() => { for (const t of state.tiles) t.tick(); }, TICK_MS);
arrange();
connect();
