// Mirror's operator console: signs in once, then draws everything from the
// event stream (GET /api/v1/events) and acts through the same /api/v1
// routes that scripts use.
import { onJsonEvent } from './events.js';
import { bytes, duration, number, validName } from './format.js';
import { StreamTable } from './table.js';

const $ = (id) => document.getElementById(id);
const state = { server: null, events: null, table: null };

async function api(method, path, body) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  let json = null;
  try {
    json = await response.json();
  } catch {
    json = null;
  }
  return { status: response.status, ok: response.ok, json };
}

function errorText(result) {
  return (result.json && typeof result.json.message === 'string' && result.json.message) || `HTTP ${result.status}`;
}

// ------------------------------------------------------------ sign-in

async function begin() {
  const session = await api('GET', '/api/v1/session');
  if (session.json && session.json.auth_required && !session.json.signed_in) {
    showSignIn();
    return;
  }
  $('sign-out').hidden = !(session.json && session.json.auth_required);
  showConsole();
}

function showSignIn(message) {
  if (state.events) {
    state.events.close();
    state.events = null;
  }
  $('console').hidden = true;
  $('sign-in').hidden = false;
  $('sign-out').hidden = true;
  $('connection').textContent = 'signed out';
  const error = $('sign-in-error');
  error.hidden = !message;
  error.textContent = message || '';
  $('token').focus();
}

$('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = $('token').value;
  const result = await api('POST', '/api/v1/session', { token });
  $('token').value = '';
  if (!result.ok) {
    showSignIn(result.status === 401 ? 'Wrong token.' : errorText(result));
    return;
  }
  $('sign-in').hidden = true;
  $('sign-out').hidden = false;
  showConsole();
});

$('open-wall').addEventListener('click', (event) => openSigned('wall', null, event));

$('sign-out').addEventListener('click', async () => {
  await api('DELETE', '/api/v1/session');
  showSignIn();
});

// ------------------------------------------------------------ live view

function deliveryBase() {
  const port = state.server && state.server.ports ? state.server.ports.http : 0;
  return port ? `${location.protocol}//${location.hostname}:${port}` : '';
}

function showConsole() {
  $('console').hidden = false;
  if (!state.table) {
    state.table = new StreamTable($('stream-rows'), {
      links: {
        player: (name) => `${deliveryBase()}/?stream=${encodeURIComponent(name)}`,
        wall: (name) => `${deliveryBase()}/wall?layout=1x1&streams=${encodeURIComponent(name)}`,
      },
      onDisconnect: disconnect,
      onOpen: openSigned,
      onCount: (n) => {
        $('stream-count').textContent = String(n);
        $('no-streams').hidden = n > 0;
      },
    });
  }
  connectEvents();
}

function connectEvents() {
  if (state.events) state.events.close();
  const source = new EventSource('/api/v1/events');
  state.events = source;
  const on = (name, handler) => onJsonEvent(source, name, handler);
  on('hello', (d) => {
    $('connection').textContent = 'live';
    $('connection').className = 'connection is-live';
    if (d.server) server(d.server);
    state.table.reset(Array.isArray(d.streams) ? d.streams : []);
  });
  on('stream.added', (d) => state.table.upsert(d, d.bitrate_history_bps || []));
  on('stream.changed', (d) => state.table.upsert(d));
  on('stream.ended', (d) => state.table.ended(d.name));
  on('figures', (d) => state.table.figures(d.streams));
  on('server', server);
  source.onerror = async () => {
    $('connection').textContent = 'reconnecting…';
    $('connection').className = 'connection is-down';
    // A session that ended (signed out elsewhere, expired, server restarted)
    // shows the sign-in again instead of retrying forever.
    const session = await api('GET', '/api/v1/session').catch(() => null);
    if (session && session.json && session.json.auth_required && !session.json.signed_in) showSignIn('The session has ended.');
  };
}

function server(s) {
  state.server = s;
  const figures = $('server-figures');
  figures.replaceChildren();
  const add = (label, value, title) => {
    const div = document.createElement('div');
    div.className = 'figure';
    if (title) div.title = title;
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = value;
    div.append(dt, dd);
    figures.append(div);
  };
  const v = s.viewers || {};
  add('Version', `${s.version || '?'} (${s.git_commit || '?'})`);
  add('Uptime', duration(s.uptime_s));
  add('CPU', `${number(s.cpu_percent, 0, ' %')} of ${s.cores || '?'} cores`, '100 % is one core');
  add('Memory', bytes(s.memory_bytes));
  add('Connections', String(s.connections ?? '—'));
  add('Viewers', `HTTP/1.1 ${v.http1 ?? 0} · HTTPS ${v.https ?? 0} · HTTP/3 ${v.http3 ?? 0}`, 'open delivery connections per protocol');
  const services = $('services');
  services.replaceChildren();
  for (const [name, h] of Object.entries(s.services || {})) {
    const li = document.createElement('li');
    li.className = `service status-${h.status}`;
    li.textContent = name;
    li.title = `${h.status}${h.message ? `: ${h.message}` : ''}`;
    services.append(li);
  }
  $('open-wall').href = wallUrl(null);
  updatePublishForms();
}

// With signed playback URLs (server.playback_secret) the player needs a
// token, minted for the stream when the link is followed; the wall needs one
// for every stream.
async function openSigned(kind, name, event) {
  if (!state.server || !state.server.playback_signed) return;
  event.preventDefault();
  const path = kind === 'wall' ? '/api/v1/wall/token' : `/api/v1/streams/${encodeURIComponent(name)}/token`;
  const result = await api('POST', path);
  if (!result.ok || !result.json || typeof result.json.token !== 'string') {
    window.alert(`Could not sign a playback URL${name ? ` for ${name}` : ''}: ${errorText(result)}`);
    return;
  }
  const url = new URL(kind === 'wall' ? wallUrl(name) : `${deliveryBase()}/?stream=${encodeURIComponent(name)}`,
    location.href);
  url.searchParams.set('token', result.json.token);
  window.open(url.href, '_blank', 'noopener');
}

function wallUrl(name) {
  return name ? state.table.links.wall(name) : `${deliveryBase()}/wall`;
}

async function disconnect(name) {
  if (!window.confirm(`Disconnect the publisher of "${name}"? The stream ends.`)) return;
  const result = await api('DELETE', `/api/v1/streams/${encodeURIComponent(name)}`);
  if (!result.ok) window.alert(`Could not disconnect ${name}: ${errorText(result)}`);
}

// ------------------------------------------------------------ new streams

function updatePublishForms() {
  const ports = (state.server && state.server.ports) || {};
  const host = location.hostname;
  const name = $('srt-name').value.trim();
  const ok = validName(name);
  if (ports.srt && ok) {
    const pass = state.server.srt_encrypted ? '&passphrase=PASSPHRASE' : '';
    const url = `srt://${host}:${ports.srt}?streamid=${name}${pass}`;
    $('srt-url').value = url;
    $('srt-command').value = `ffmpeg -re -i input.ts -c copy -f mpegts "${url}"`;
  } else {
    $('srt-url').value = ports.srt ? 'enter a name (A-Z a-z 0-9 _ -)' : 'SRT ingest is disabled';
    $('srt-command').value = '';
  }
  $('rtp-url').value = ports.rtp ? `rtp://${host}:${ports.rtp}` : 'RTP ingest is disabled';
}

$('srt-name').addEventListener('input', updatePublishForms);
$('srt-form').addEventListener('submit', (e) => e.preventDefault());

for (const button of document.querySelectorAll('[data-copy]')) {
  button.addEventListener('click', async () => {
    const input = $(button.dataset.copy);
    try {
      await navigator.clipboard.writeText(input.value);
    } catch {
      input.select();
      document.execCommand('copy');
    }
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = 'Copy'; }, 1500);
  });
}

for (const radio of document.querySelectorAll('#rtp-form input[name="kind"]')) {
  radio.addEventListener('change', () => {
    const sdp = document.querySelector('#rtp-form input[name="kind"]:checked').value === 'sdp';
    for (const id of ['rtp-sdp', 'rtp-sdp-label', 'rtp-sdp-file']) $(id).hidden = !sdp;
    for (const id of ['rtp-ssrc', 'rtp-ssrc-label']) $(id).hidden = sdp;
  });
}

$('rtp-sdp-file').addEventListener('change', async () => {
  const file = $('rtp-sdp-file').files[0];
  if (!file) return;
  if (file.size > 65536) {
    $('rtp-result').textContent = 'That file is larger than an SDP can be (64 KiB).';
    return;
  }
  $('rtp-sdp').value = await file.text();
});

$('rtp-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const result = $('rtp-result');
  const name = $('rtp-name').value.trim();
  if (!validName(name)) {
    result.textContent = 'A stream name is 1-64 characters of A-Z a-z 0-9 _ -.';
    return;
  }
  const sdp = document.querySelector('#rtp-form input[name="kind"]:checked').value === 'sdp';
  const body = { name };
  if (sdp) body.sdp = $('rtp-sdp').value;
  else body.ssrc = $('rtp-ssrc').value.trim();
  const answer = await api('POST', '/api/v1/streams', body);
  if (!answer.ok) {
    result.textContent = `Refused: ${errorText(answer)}`;
    result.className = 'form-result is-error';
    return;
  }
  result.className = 'form-result is-ok';
  if (answer.json && Array.isArray(answer.json.ports)) {
    result.textContent = `Declared ${name}: send RTP to port${answer.json.ports.length > 1 ? 's' : ''} ${answer.json.ports.join(', ')}.`;
    $('rtp-url').value = `rtp://${location.hostname}:${answer.json.ports[0]}`;
  } else {
    result.textContent = `Declared ${name}: send MPEG-TS over RTP with that SSRC to the RTP port.`;
  }
});

begin();
