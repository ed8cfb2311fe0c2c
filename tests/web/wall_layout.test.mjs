// The wall's arithmetic (web/wall/layout.js): layouts, the URL's stream
// list, which stream goes in which slot, and the keys.
//
//   node --test tests/web/

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The page's module as the browser gets it (a .js file outside any package
// Node would treat as a module).
const here = path.dirname(fileURLToPath(import.meta.url));
const source = await readFile(path.join(here, '../../web/wall/layout.js'), 'utf8');
const layout = await import(`data:text/javascript,${encodeURIComponent(source)}`);

describe('layouts', () => {
  it('accepts 1x1 to 5x5 and nothing else', () => {
    assert.equal(layout.parseLayout('1x1'), 1);
    assert.equal(layout.parseLayout('5x5'), 5);
    assert.equal(layout.parseLayout(' 3x3 '), 3);
    for (const bad of ['', 'auto', '6x6', '2x3', '0x0', '3X3', '3x3x3', null, undefined, 9]) {
      assert.equal(layout.parseLayout(bad), null, String(bad));
    }
    assert.equal(layout.layoutName(4), '4x4');
    assert.equal(layout.layoutName(null), 'auto');
  });

  it('grows with the number of streams up to 5x5', () => {
    assert.deepEqual([0, 1, 2, 4, 5, 9, 10, 16, 17, 25, 26, 100].map(layout.autoSize), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5, 5]);
  });
});

describe('the stream list in the URL', () => {
  it('keeps valid names once, in order, with kept empty slots', () => {
    assert.deepEqual(layout.parseStreams('b,a,,b,<script>,c-1,-,d_2'), ['b', 'a', 'c-1', null, 'd_2']);
    assert.equal(layout.parseStreams(''), null);
    assert.equal(layout.parseStreams(',,-,'), null);
    assert.equal(layout.parseStreams(null), null);
    assert.equal(layout.parseStreams('x'.repeat(65)), null);
  });

  it('holds at most 25', () => {
    const names = Array.from({ length: 40 }, (_, i) => `cam${i}`);
    assert.equal(layout.parseStreams(names.join(',')).length, 25);
  });

  it('round-trips through formatStreams', () => {
    const slots = ['a', null, 'c', null, null];
    assert.equal(layout.formatStreams(slots), 'a,-,c');
    assert.deepEqual(layout.parseStreams(layout.formatStreams(slots)), ['a', null, 'c']);
  });
});

describe('slots', () => {
  it('fills with the live streams in name order', () => {
    assert.deepEqual(layout.assignSlots([], ['c', 'a', 'b'], 4, null), ['a', 'b', 'c', null]);
  });

  it('counts the numbers in names as numbers', () => {
    assert.deepEqual(layout.assignSlots([], ['cam10', 'cam2', 'cam1', 'b', 'cam02x', 'a9'], 9, null),
      ['a9', 'b', 'cam1', 'cam2', 'cam02x', 'cam10', null, null, null]);
    assert.deepEqual(['x', 'x1', 'x01', 'x'].sort(layout.compareNames), ['x', 'x', 'x1', 'x01']);
  });

  it('keeps every stream in its slot as others come and go', () => {
    let slots = layout.assignSlots([], ['b', 'd'], 4, null);
    assert.deepEqual(slots, ['b', 'd', null, null]);
    slots = layout.assignSlots(slots, ['a', 'b', 'd'], 4, null);
    assert.deepEqual(slots, ['b', 'd', 'a', null], 'a newcomer takes a free slot, nobody moves');
    slots = layout.assignSlots(slots, ['a', 'd'], 4, null);
    assert.deepEqual(slots, ['b', 'd', 'a', null], 'an ended stream keeps its slot (its slate)');
    slots = layout.assignSlots(slots, ['a', 'b', 'd'], 4, null);
    assert.deepEqual(slots, ['b', 'd', 'a', null], 'and resumes there');
  });

  it('gives an ended stream\'s slot to a newcomer only when no slot is free', () => {
    let slots = layout.assignSlots([], ['a', 'b', 'c', 'd'], 4, null);
    slots = layout.assignSlots(slots, ['a', 'c', 'd'], 4, null);
    assert.deepEqual(slots, ['a', 'b', 'c', 'd']);
    slots = layout.assignSlots(slots, ['a', 'c', 'd', 'e'], 4, null);
    assert.deepEqual(slots, ['a', 'e', 'c', 'd']);
    // Full of live streams: a newcomer waits.
    assert.deepEqual(layout.assignSlots(slots, ['a', 'c', 'd', 'e', 'f'], 4, null), ['a', 'e', 'c', 'd']);
  });

  it('places again what a smaller layout left out when it grows', () => {
    const small = layout.assignSlots(['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd', 'e'], 1, null);
    assert.deepEqual(small, ['a']);
    assert.deepEqual(layout.assignSlots(small, ['a', 'b', 'c', 'd', 'e'], 4, null), ['a', 'b', 'c', 'd']);
  });

  it('shows a pinned list as it is, live or not', () => {
    assert.deepEqual(layout.assignSlots(['x'], ['a'], 4, ['z', null, 'a']), ['z', null, 'a', null]);
    assert.deepEqual(layout.assignSlots([], [], 1, ['z', 'a']), ['z']);
  });
});

describe('keys', () => {
  it('maps digits to slots', () => {
    assert.deepEqual(['1', '9', '0', 'a', '10', ''].map(layout.slotOfDigit), [0, 8, 9, null, null, null]);
  });

  it('moves the selection inside the grid', () => {
    assert.equal(layout.moveSelection(null, 'ArrowRight', 3, 9), 0);
    assert.equal(layout.moveSelection(0, 'ArrowRight', 3, 9), 1);
    assert.equal(layout.moveSelection(2, 'ArrowRight', 3, 9), 2);
    assert.equal(layout.moveSelection(1, 'ArrowDown', 3, 9), 4);
    assert.equal(layout.moveSelection(7, 'ArrowDown', 3, 9), 7);
    assert.equal(layout.moveSelection(3, 'ArrowLeft', 3, 9), 3);
    assert.equal(layout.moveSelection(4, 'ArrowUp', 3, 9), 1);
    assert.equal(layout.moveSelection(null, 'ArrowUp', 3, 0), null);
  });
});
