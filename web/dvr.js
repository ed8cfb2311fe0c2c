// The player page's DVR bar: the stream's retained recording as a time line
// (from /streams/NAME/dvr/sessions.json), a slider to seek in it, a button
// one minute back, and one back to live. It only shows and asks; the page
// does the playing (onSeek with the Unix milliseconds to play from, onLive).
import { clock } from './format.js';

const REFRESH_MS = 5000;
const BACK_MS = 60000;

export function createScrubber(root, { onSeek, onLive, withToken }) {
  const range = root.querySelector('.dvr-range');
  const time = root.querySelector('.dvr-time');
  const edges = root.querySelector('.dvr-edges');
  const back = root.querySelector('.dvr-back');
  const live = root.querySelector('.dvr-live');
  let name = null;
  let timer = null;
  let oldest = null; // Unix ms of the oldest retained moment
  let dragging = false;
  let position = null; // Unix ms on screen, or null
  let mode = 'live';

  const span = () => Math.max(1, Date.now() - oldest);
  const toValue = (ms) => Math.round(1000 * (ms - oldest) / span());
  const toMs = (value) => oldest + (Number(value) / 1000) * span();

  async function refresh() {
    if (!name) return;
    const asked = name;
    try {
      const r = await fetch(withToken(`/streams/${encodeURIComponent(asked)}/dvr/sessions.json`), { cache: 'no-store' });
      if (asked !== name) return;
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const body = await r.json();
      const starts = (body.sessions || []).map((s) => Date.parse(s.started_at)).filter(Number.isFinite);
      const floor = Date.parse(body.oldest_retained);
      oldest = starts.length ? Math.max(Math.min(...starts), Number.isFinite(floor) ? floor : -Infinity) : null;
    } catch (err) {
      oldest = null;
    }
    root.hidden = oldest === null;
    render();
  }

  function render() {
    if (oldest === null) return;
    edges.textContent = `${clock(new Date(oldest))} – now`;
    if (!dragging) range.value = String(position === null || mode === 'live' ? 1000 : toValue(position));
    time.textContent = mode === 'live' ? 'LIVE'
      : position === null ? '…' : clock(new Date(position));
    live.disabled = mode === 'live';
    root.classList.toggle('dvr-behind', mode !== 'live');
  }

  range.addEventListener('input', () => {
    dragging = true;
    if (oldest !== null) time.textContent = clock(new Date(toMs(range.value)));
  });
  range.addEventListener('change', () => {
    dragging = false;
    if (oldest === null) return;
    const at = toMs(range.value);
    // The last few seconds are live.
    if (Date.now() - at < 5000) onLive();
    else onSeek(at);
  });
  back.addEventListener('click', () => {
    const from = position !== null && mode !== 'live' ? position : Date.now();
    onSeek(Math.max(oldest !== null ? oldest : -Infinity, from - BACK_MS));
  });
  live.addEventListener('click', () => onLive());

  return {
    // Follows another stream (null: none).
    follow(stream) {
      name = stream;
      oldest = null;
      position = null;
      mode = 'live';
      root.hidden = true;
      clearInterval(timer);
      timer = null;
      if (!stream) return;
      refresh();
      timer = setInterval(refresh, REFRESH_MS);
    },
    // Where playback is (Unix ms of the picture on screen) and how.
    show(ms, how) {
      position = ms;
      mode = how;
      render();
    },
  };
}
