// Formatting of figures for the console and the wall. Pure functions.

export function bitrate(bps) {
  if (typeof bps !== 'number' || !Number.isFinite(bps)) return '—';
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(bps >= 1e7 ? 0 : 1)} Mbit/s`;
  if (bps >= 1e3) return `${Math.round(bps / 1e3)} kbit/s`;
  return `${Math.round(bps)} bit/s`;
}

export function bytes(n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function duration(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return '—';
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  if (m > 0) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

export function number(v, digits = 0, unit = '') {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—';
  return `${v.toFixed(digits)}${unit}`;
}

// "avc1.64001f" -> "H.264", "hvc1..." -> "HEVC", "mp4a.40.2" -> "AAC".
export function codecName(codec) {
  if (typeof codec !== 'string') return '';
  if (/^(avc1|avc3)/.test(codec)) return 'H.264';
  if (/^(hvc1|hev1)/.test(codec)) return 'HEVC';
  if (/^mp4a/.test(codec)) return 'AAC';
  return codec;
}

// A stream name as the API accepts it.
export function validName(name) {
  return typeof name === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(name);
}

// dBFS -> 0..1 for a meter from -60 dBFS to 0.
export function meterLevel(dbfs) {
  if (typeof dbfs !== 'number' || !Number.isFinite(dbfs)) return 0;
  return Math.min(1, Math.max(0, (dbfs + 60) / 60));
}

// A wall-clock time of day, 24-hour, with seconds ("14:03:27").
export function clock(date) {
  const two = (n) => String(n).padStart(2, '0');
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}
