// Just enough of ISO BMFF (ISO/IEC 14496-12) to read the media timeline of
// fMP4 init sections, parts and segments: each track's timescale from the
// init section, and each fragment's base media decode time (tfdt) and
// duration (trun, with tfhd and trex defaults). Readers take a Buffer and
// return a result with `error` set rather than throw, and never read past
// a box.

// Lists the boxes of buf[start, end): [{ type, start, payload, end }].
function children(buf, start, end) {
  const out = [];
  let off = start;
  while (off + 8 <= end) {
    let size = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    let header = 8;
    if (size === 1) {
      if (off + 16 > end) throw new Error(`'${type}' box at ${off}: truncated 64-bit size`);
      size = Number(buf.readBigUInt64BE(off + 8));
      header = 16;
    } else if (size === 0) {
      size = end - off;
    }
    if (size < header || off + size > end) throw new Error(`'${type}' box at ${off} claims ${size} bytes, ${end - off} left`);
    out.push({ type, start: off, payload: off + header, end: off + size });
    off += size;
  }
  if (off !== end) throw new Error(`${end - off} stray bytes after the last box`);
  return out;
}

function find(buf, box, type) {
  return children(buf, box.payload, box.end).filter((b) => b.type === type);
}

function need(box, bytes) {
  if (box.payload + bytes > box.end) throw new Error(`'${box.type}' box is too short`);
}

// Init section: { tracks: Map(trackId -> { timescale, handler,
// defaultDuration }) } or { error }.
export function readInitSegment(buf) {
  try {
    const tracks = new Map();
    const moov = children(buf, 0, buf.length).find((b) => b.type === 'moov');
    if (!moov) return { tracks, error: 'no moov box' };
    for (const trak of find(buf, moov, 'trak')) {
      const [tkhd] = find(buf, trak, 'tkhd');
      const [mdia] = find(buf, trak, 'mdia');
      const [mdhd] = mdia ? find(buf, mdia, 'mdhd') : [];
      const [hdlr] = mdia ? find(buf, mdia, 'hdlr') : [];
      if (!tkhd || !mdhd || !hdlr) return { tracks, error: 'a trak lacks tkhd, mdhd or hdlr' };
      need(tkhd, 24);
      need(mdhd, 24);
      need(hdlr, 12);
      const tkhdV1 = buf[tkhd.payload] === 1;
      const mdhdV1 = buf[mdhd.payload] === 1;
      const trackId = buf.readUInt32BE(tkhd.payload + (tkhdV1 ? 20 : 12));
      tracks.set(trackId, {
        timescale: buf.readUInt32BE(mdhd.payload + (mdhdV1 ? 20 : 12)),
        handler: buf.toString('latin1', hdlr.payload + 8, hdlr.payload + 12),
        defaultDuration: undefined,
      });
    }
    const [mvex] = find(buf, moov, 'mvex');
    for (const trex of mvex ? find(buf, mvex, 'trex') : []) {
      need(trex, 16);
      const track = tracks.get(buf.readUInt32BE(trex.payload + 4));
      if (track) track.defaultDuration = buf.readUInt32BE(trex.payload + 12);
    }
    return { tracks };
  } catch (err) {
    return { tracks: new Map(), error: err.message };
  }
}

// Part or segment: { tracks: Map(trackId -> { start, duration, samples }),
// gaps: [{ trackId, expected, found }] } or { error }. A body made of
// several fragments (a segment that concatenates its parts) is followed
// fragment by fragment; `gaps` lists where a fragment does not start where
// the one before it ended.
export function readMediaFragments(buf, init) {
  const tracks = new Map();
  const gaps = [];
  try {
    for (const moof of children(buf, 0, buf.length).filter((b) => b.type === 'moof')) {
      for (const traf of find(buf, moof, 'traf')) {
        const [tfhd] = find(buf, traf, 'tfhd');
        const [tfdt] = find(buf, traf, 'tfdt');
        if (!tfhd || !tfdt) return { tracks, gaps, error: 'a traf lacks tfhd or tfdt' };
        need(tfhd, 8);
        const flags = buf.readUInt32BE(tfhd.payload) & 0xffffff;
        const trackId = buf.readUInt32BE(tfhd.payload + 4);
        let off = tfhd.payload + 8;
        if (flags & 0x01) off += 8;
        if (flags & 0x02) off += 4;
        let defaultDuration = init?.tracks.get(trackId)?.defaultDuration;
        if (flags & 0x08) {
          need(tfhd, off - tfhd.payload + 4);
          defaultDuration = buf.readUInt32BE(off);
        }
        need(tfdt, 8);
        const start = buf[tfdt.payload] === 1
          ? (need(tfdt, 12), Number(buf.readBigUInt64BE(tfdt.payload + 4)))
          : buf.readUInt32BE(tfdt.payload + 4);
        let duration = 0;
        let samples = 0;
        for (const trun of find(buf, traf, 'trun')) {
          need(trun, 8);
          const tflags = buf.readUInt32BE(trun.payload) & 0xffffff;
          const count = buf.readUInt32BE(trun.payload + 4);
          let p = trun.payload + 8 + (tflags & 0x01 ? 4 : 0) + (tflags & 0x04 ? 4 : 0);
          const stride = [0x100, 0x200, 0x400, 0x800].filter((f) => tflags & f).length * 4;
          if (p + count * stride > trun.end) throw new Error('trun lists more samples than it holds');
          for (let i = 0; i < count; i++, p += stride) {
            if (tflags & 0x100) duration += buf.readUInt32BE(p);
            else if (defaultDuration !== undefined) duration += defaultDuration;
            else throw new Error(`track ${trackId} gives no sample duration`);
          }
          samples += count;
        }
        const known = tracks.get(trackId);
        if (!known) {
          tracks.set(trackId, { start, duration, samples });
        } else {
          if (start !== known.start + known.duration) gaps.push({ trackId, expected: known.start + known.duration, found: start });
          known.duration = start + duration - known.start;
          known.samples += samples;
        }
      }
    }
    return { tracks, gaps };
  } catch (err) {
    return { tracks, gaps, error: err.message };
  }
}
