// The wall's layout and which stream goes in which slot. Pure functions, so
// that they can be tested without a browser.

export const MAX_SIZE = 5;
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

// "3x3" -> 3; anything else ("auto", "", "9x9", null) -> null (auto).
export function parseLayout(text) {
  const m = typeof text === 'string' ? /^([1-5])x\1$/.exec(text.trim()) : null;
  return m ? Number(m[1]) : null;
}

export function layoutName(size) {
  return size ? `${size}x${size}` : 'auto';
}

// "a,b,,c,a,<x>" -> ["a","b","c"]: valid stream names, first occurrence
// only, at most MAX_SIZE² of them. An empty slot may be kept with "-".
export function parseStreams(text) {
  if (typeof text !== 'string' || !text.trim()) return null;
  const seen = new Set();
  const out = [];
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '-') {
      out.push(null);
    } else if (NAME.test(name) && !seen.has(name)) {
      seen.add(name);
      out.push(name);
    }
    if (out.length === MAX_SIZE * MAX_SIZE) break;
  }
  while (out.length && out[out.length - 1] === null) out.pop();
  return out.length ? out : null;
}

export function formatStreams(slots) {
  const list = slots.map((s) => s || '-');
  while (list.length && list[list.length - 1] === '-') list.pop();
  return list.join(',');
}

// The smallest square layout that holds `count` tiles (1x1 .. 5x5).
export function autoSize(count) {
  return Math.min(MAX_SIZE, Math.max(1, Math.ceil(Math.sqrt(count))));
}

// Which stream each of `capacity` slots shows.
//   previous  what the slots showed so far (names or null)
//   present   names of the streams the server lists now
//   pinned    the URL's list (slot i shows pinned[i], live or not), or null
// Without a pinned list a stream keeps its slot while it exists and after
// it ends (its tile shows the ended slate and resumes if it comes back);
// new streams fill free slots in name order (cam2 before cam10), and take the slots of ended
// streams only when no slot is free.
export function assignSlots(previous, present, capacity, pinned) {
  if (pinned) {
    return Array.from({ length: capacity }, (_, i) => (i < pinned.length ? pinned[i] : null));
  }
  const live = new Set(present);
  const slots = Array.from({ length: capacity }, (_, i) => (i < previous.length ? previous[i] || null : null));
  const placed = new Set(slots.filter(Boolean));
  // A stream that fell off the end of a smaller layout is placed again.
  const waiting = [...new Set(present)].filter((n) => !placed.has(n)).sort(compareNames);
  for (const name of waiting) {
    let at = slots.indexOf(null);
    if (at < 0) at = slots.findIndex((s) => s && !live.has(s));
    if (at < 0) break;
    slots[at] = name;
  }
  return slots;
}

// Name order as people read it: cam2 before cam10.
export function compareNames(a, b) {
  const x = a.split(/(\d+)/);
  const y = b.split(/(\d+)/);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] === y[i]) continue;
    if (i % 2 === 1 && x[i].length !== y[i].length) return x[i].length - y[i].length;
    return x[i] < y[i] ? -1 : 1;
  }
  return x.length - y.length;
}

// The slot a digit key selects: "1".."9" -> 0..8, "0" -> 9.
export function slotOfDigit(key) {
  if (!/^[0-9]$/.test(key)) return null;
  return key === '0' ? 9 : Number(key) - 1;
}

// The slot an arrow key moves to from `at` in a size x size grid.
export function moveSelection(at, key, size, capacity) {
  const cur = at === null || at === undefined ? -1 : at;
  if (cur < 0) return capacity > 0 ? 0 : null;
  const row = Math.floor(cur / size);
  const col = cur % size;
  const next = {
    ArrowLeft: col > 0 ? cur - 1 : cur,
    ArrowRight: col < size - 1 && cur + 1 < capacity ? cur + 1 : cur,
    ArrowUp: row > 0 ? cur - size : cur,
    ArrowDown: cur + size < capacity ? cur + size : cur,
  }[key];
  return next === undefined ? cur : next;
}
