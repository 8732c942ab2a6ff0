/** The N:M microscope's layout (pure): the window, the groups and their counts, clamping, errors. */
import { describe, expect, it } from 'vitest';
import { nmMicroscopeLayout } from '../../../app/charts/nm-microscope';

// 3 × 8 matrix, 2:4 mask keeping the two largest |w| of each group of 4.
const W = Float32Array.from({ length: 24 }, (_, i) => ((i * 7) % 11) - 5);
const M = new Uint8Array(24);
for (let g = 0; g < 6; g++) {
  const idx = [0, 1, 2, 3].map((k) => g * 4 + k).sort((a, b) => Math.abs(W[b]!) - Math.abs(W[a]!));
  M[idx[0]!] = 1;
  M[idx[1]!] = 1;
}

describe('nmMicroscopeLayout', () => {
  it('lays out rows × groups of M with each weight, whether it is kept, and group counts', () => {
    const l = nmMicroscopeLayout(W, M, 3, 8, { n: 2, m: 4, rows: 2, groups: 2, row0: 1 });
    expect(l).toMatchObject({ row0: 1, group0: 0, rows: 2, groups: 2 });
    expect(l.cells).toHaveLength(2 * 2 * 4);
    expect(l.cells[0]).toEqual({ row: 1, col: 0, value: W[8], after: M[8] ? W[8] : 0, kept: M[8] === 1 });
    expect(l.groupsShown.map((g) => [g.row, g.group, g.col0, g.kept, g.ok])).toEqual([
      [1, 0, 0, 2, true],
      [1, 1, 4, 2, true],
      [2, 0, 0, 2, true],
      [2, 1, 4, 2, true],
    ]);
    expect(l.maxAbs).toBe(5);
    for (const c of l.cells) if (!c.kept) expect(c.after).toBe(0);
  });

  it('clamps the window into the matrix, flags groups that break N:M, and uses updated values', () => {
    const bad = M.slice();
    bad[0] = 1;
    bad[1] = 1;
    bad[2] = 1;
    bad[3] = 0;
    const after = Float32Array.from(W, (v) => v * 2);
    const l = nmMicroscopeLayout(W, bad, 3, 8, {
      n: 2,
      m: 4,
      rows: 10,
      groups: 10,
      row0: 5,
      group0: 9,
      after,
    });
    expect(l).toMatchObject({ row0: 0, group0: 0, rows: 3, groups: 2 });
    expect(l.groupsShown[0]).toMatchObject({ kept: 3, ok: false });
    const kept = l.cells.find((c) => c.kept)!;
    expect(kept.after).toBe(kept.value * 2);
  });

  it('names bad options', () => {
    expect(() => nmMicroscopeLayout(W, M, 3, 8, { n: 2, m: 3 })).toThrow(/do not split into groups of 3/);
    expect(() => nmMicroscopeLayout(W, M, 3, 8, { n: 5, m: 4 })).toThrow(/nmMicroscope.*n/);
    expect(() => nmMicroscopeLayout(W, M.subarray(1), 3, 8, { n: 2, m: 4 })).toThrow(/mask.*23 entries/);
    expect(() => nmMicroscopeLayout(W, M, 3, 8, { n: 2, m: 4, zoom: 2 } as never)).toThrow(
      /unknown option "zoom"/,
    );
  });
});
