// What the player page and the wall's tiles share (web/live.js): telling a
// new instance of a stream from the same one moving on.
//
//   node --test tests/web/

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const source = await readFile(path.join(here, '../../web/live.js'), 'utf8');
const live = await import(`data:text/javascript,${encodeURIComponent(source)}`);

const window = (startSN, endSN) => ({ startSN, endSN });

describe('replacedInstance', () => {
  it('takes a window that moved on, or did not move, for the same instance', () => {
    assert.equal(live.replacedInstance(window(100, 119), window(100, 119)), false);
    assert.equal(live.replacedInstance(window(100, 119), window(101, 120)), false);
    assert.equal(live.replacedInstance(window(100, 119), window(119, 138)), false);
    assert.equal(live.replacedInstance(window(100, 119), window(120, 139)), false, 'the next number follows on');
  });

  it('takes a window that begins after a gap, or ends before, for another instance', () => {
    // A failover: the new node numbers past anything the old one reached.
    assert.equal(live.replacedInstance(window(179635537732, 179635537751), window(179635539552, 179635539552)), true);
    assert.equal(live.replacedInstance(window(100, 119), window(121, 140)), true);
    assert.equal(live.replacedInstance(window(100, 119), window(80, 99)), true);
  });

  it('says nothing without a window before, or with numbers it cannot read', () => {
    assert.equal(live.replacedInstance(null, window(5, 9)), false);
    assert.equal(live.replacedInstance(window(5, 9), null), false);
    assert.equal(live.replacedInstance(window(5, 9), window(undefined, 30)), false);
    assert.equal(live.replacedInstance(window(5, 9), { startSN: '50', endSN: '60' }), false);
  });
});
