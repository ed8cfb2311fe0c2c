// The stream table: one row per stream, built with DOM calls only (names,
// addresses and error texts come from the wire and are never parsed as
// HTML), updated in place by the event stream.
import { bitrate, codecName, meterLevel, number } from './format.js';

const THUMB_EVERY_MS = 5000;
const ENDED_KEPT_MS = 60000;

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function drawSparkline(canvas, values) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width;
  const h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  if (!values.length) return;
  const max = Math.max(...values, 1);
  ctx.strokeStyle = '#4d8dff';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  values.forEach((v, i) => {
    const x = values.length === 1 ? w : (i / (values.length - 1)) * (w - 2) + 1;
    const y = h - 2 - (v / max) * (h - 4);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
}

export class StreamTable {
  // links: { player(name), wall(name) } give URLs; onDisconnect(name) and
  // onOpen(kind, name, clickEvent) ("player" or "wall") act.
  constructor(tbody, { links, onDisconnect, onOpen, onCount }) {
    this.tbody = tbody;
    this.links = links;
    this.onDisconnect = onDisconnect;
    this.onOpen = onOpen;
    this.onCount = onCount;
    this.rows = new Map();
  }

  // The whole list, from a hello event: rows of streams no longer there go.
  reset(streams) {
    const names = new Set(streams.map((s) => s.name));
    for (const name of [...this.rows.keys()]) {
      if (!names.has(name)) this.remove(name);
    }
    for (const s of streams) this.upsert(s, s.bitrate_history_bps || []);
  }

  upsert(summary, history) {
    if (!summary || typeof summary.name !== 'string') return;
    let row = this.rows.get(summary.name);
    if (!row) {
      row = this.build(summary.name);
      // Rows stay in name order: before the first row whose name sorts after.
      const next = [...this.rows.values()].find((r) => r.summary.name > summary.name);
      this.rows.set(summary.name, row);
      this.tbody.insertBefore(row.tr, next ? next.tr : null);
    }
    if (row.removeTimer) {
      clearTimeout(row.removeTimer);
      row.removeTimer = null;
    }
    row.summary = summary;
    if (history) row.history = history.slice(-60);
    this.renderSummary(row);
    this.count();
  }

  ended(name) {
    const row = this.rows.get(name);
    if (!row) return;
    row.summary = { ...row.summary, state: 'ended' };
    this.renderSummary(row);
    row.tr.classList.add('is-ended');
    row.removeTimer = setTimeout(() => this.remove(name), ENDED_KEPT_MS);
  }

  remove(name) {
    const row = this.rows.get(name);
    if (!row) return;
    if (row.removeTimer) clearTimeout(row.removeTimer);
    row.tr.remove();
    this.rows.delete(name);
    this.count();
  }

  count() {
    if (this.onCount) this.onCount([...this.rows.values()].filter((r) => r.summary.state !== 'ended').length);
  }

  build(name) {
    const tr = el('tr');
    tr.dataset.stream = name;
    const cells = {};
    for (const key of ['picture', 'stream', 'source', 'bitrate', 'link', 'transcode', 'audio', 'errors', 'actions']) {
      cells[key] = el('td', `col-${key}`);
      tr.append(cells[key]);
    }
    const thumb = el('img', 'thumb');
    thumb.alt = '';
    thumb.width = 128;
    thumb.height = 72;
    cells.picture.append(thumb);

    const nameLine = el('div', 'name-line');
    const nameText = el('strong', 'stream-name', name);
    const badge = el('span', 'badge');
    nameLine.append(nameText, badge);
    const meta = el('div', 'muted small');
    cells.stream.append(nameLine, meta);

    const codecs = el('div', 'small');
    cells.source.append(codecs);

    const rateText = el('div', 'rate');
    const spark = el('canvas', 'sparkline');
    spark.width = 120;
    spark.height = 28;
    cells.bitrate.append(rateText, spark);

    const link = el('div', 'small');
    cells.link.append(link);

    const path = el('div', 'path');
    const dropped = el('div', 'muted small');
    const frozen = el('div', 'warning small', 'picture frozen');
    frozen.hidden = true;
    cells.transcode.append(path, dropped, frozen);

    const meters = el('div', 'meters');
    const lufs = el('div', 'muted small');
    const silent = el('div', 'warning small', 'silent');
    silent.hidden = true;
    cells.audio.append(meters, lufs, silent);

    const errorCount = el('div', 'error-count');
    const lastError = el('div', 'muted small last-error');
    cells.errors.append(errorCount, lastError);

    const open = (kind, label, title) => {
      const a = el('a', 'button small-button', label);
      a.target = '_blank';
      a.rel = 'noopener';
      a.title = title;
      a.addEventListener('click', (event) => { if (this.onOpen) this.onOpen(kind, name, event); });
      return a;
    };
    const player = open('player', 'Player', 'Play this stream on the player page');
    const wall = open('wall', 'Wall', 'This stream alone on the multiview wall, with its audio meters');
    const disconnect = el('button', 'danger small-button', 'Disconnect');
    disconnect.type = 'button';
    disconnect.addEventListener('click', () => this.onDisconnect(name));
    cells.actions.append(player, wall, disconnect);

    return {
      tr, thumb, badge, meta, codecs, rateText, spark, link, path, dropped, frozen, meters, lufs, silent,
      errorCount, lastError, player, wall, disconnect, history: [], summary: { name }, thumbAt: 0, removeTimer: null,
    };
  }

  renderSummary(row) {
    const s = row.summary;
    const state = s.state || 'connecting';
    row.badge.textContent = state;
    row.badge.className = `badge state-${state}`;
    row.tr.classList.toggle('is-ended', state === 'ended');
    // Another node's stream says where it is ingested.
    const where = s.remote && s.node ? `on ${s.node}` : '';
    row.meta.textContent = [s.protocol ? s.protocol.toUpperCase() : '', s.remote_address || '', where].filter(Boolean).join(' · ');
    const parts = [];
    if (s.video) {
      const v = s.video;
      parts.push(`${codecName(v.codec)} ${v.width || '?'}×${v.height || '?'} ${number(v.frame_rate, v.frame_rate % 1 ? 2 : 0)} fps`);
    }
    if (s.audio) parts.push(`${codecName(s.audio.codec)} ${s.audio.channels || '?'} ch ${number((s.audio.sample_rate || 0) / 1000, 1)} kHz`);
    row.codecs.textContent = parts.join(' · ') || 'waiting for media';
    row.path.textContent = s.transcode_path ? `${s.transcode_path}` : 'not transcoded';
    row.player.href = this.links.player(s.name);
    row.wall.href = this.links.wall(s.name);
    row.disconnect.disabled = state === 'ended';
    drawSparkline(row.spark, row.history);
  }

  // One second of figures for every stream.
  figures(streams) {
    const now = Date.now();
    for (const [name, f] of Object.entries(streams || {})) {
      const row = this.rows.get(name);
      if (!row || !f) continue;
      row.history.push(typeof f.bitrate_bps === 'number' ? f.bitrate_bps : 0);
      if (row.history.length > 60) row.history.shift();
      row.rateText.textContent = bitrate(f.bitrate_bps);
      drawSparkline(row.spark, row.history);
      if (f.state && f.state !== row.summary.state) {
        row.summary = { ...row.summary, state: f.state };
        this.renderSummary(row);
      }
      const l = f.link || {};
      if (row.summary.protocol === 'srt') {
        row.link.textContent = `RTT ${number(l.rtt_ms, 1, ' ms')} · lost ${l.packets_lost ?? '—'} · retransmitted ${l.packets_retransmitted ?? '—'}`;
      } else if (row.summary.protocol === 'rtp') {
        row.link.textContent = `lost ${l.packets_lost ?? '—'} · jitter ${number(l.jitter_ms, 1, ' ms')}`;
      } else {
        row.link.textContent = '—';
      }
      row.dropped.textContent = typeof f.dropped_gops === 'number' ? `dropped GOPs ${f.dropped_gops}` : '';
      row.frozen.hidden = !f.frozen;
      row.silent.hidden = !f.silent;
      row.tr.classList.toggle('is-frozen', !!f.frozen);
      this.meters(row, f.levels);
      const errors = f.errors ? Object.values(f.errors).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0) : 0;
      row.errorCount.textContent = errors ? `${errors} error${errors === 1 ? '' : 's'}` : 'no errors';
      row.errorCount.classList.toggle('has-errors', errors > 0);
      if (f.last_error && typeof f.last_error.text === 'string') {
        const at = new Date(f.last_error.at_ms).toLocaleTimeString();
        row.lastError.textContent = `${at}: ${f.last_error.text}`;
      }
      if (row.summary.transcode_path && row.summary.state !== 'ended' && now - row.thumbAt >= THUMB_EVERY_MS) {
        row.thumbAt = now;
        row.thumb.src = `/api/v1/streams/${encodeURIComponent(name)}/thumbnail.jpg?t=${now}`;
      }
    }
  }

  meters(row, levels) {
    const channels = levels && Array.isArray(levels.channels) ? levels.channels : [];
    while (row.meters.children.length > channels.length) row.meters.lastChild.remove();
    while (row.meters.children.length < channels.length) {
      const bar = el('span', 'meter');
      bar.append(el('span', 'meter-fill'));
      row.meters.append(bar);
    }
    channels.forEach((c, i) => {
      const fill = row.meters.children[i].firstChild;
      fill.style.height = `${Math.round(meterLevel(c.peak_dbfs) * 100)}%`;
      row.meters.children[i].title = `channel ${i + 1}: peak ${number(c.peak_dbfs, 1)} dBFS, RMS ${number(c.rms_dbfs, 1)} dBFS`;
    });
    row.lufs.textContent = levels && typeof levels.momentary_lufs === 'number' ? `${levels.momentary_lufs.toFixed(1)} LUFS` : '';
  }
}
