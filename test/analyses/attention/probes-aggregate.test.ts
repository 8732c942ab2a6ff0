import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import {
  HEAD_PROBE_COLUMNS,
  POSITION_PROBE_SCHEMA,
  ProbeAccumulator,
  probeResult,
} from '../../../analyses/attention/probes';
import { attendTo, previousToken, stack, uniform } from './probes-synthetic';

const H = (n: number) => Array.from({ length: n }, (_, k) => 1 / (k + 1)).reduce((a, b) => a + b, 0);

describe('aggregation over windows', () => {
  // Window A (T = 4): head 0 uniform, head 1 previous-token. Window B (T = 2): head 0 on token 0, head 1 uniform.
  const acc = new ProbeAccumulator({ nLayers: 1, nHeads: 2, seqLen: 4 }, { ks: [1, 2], nSink: 1, lines: 1 });
  acc.add({ layer: 0, T: 4, nHeads: 2, probs: stack(uniform(4), previousToken(4)) });
  acc.add({ layer: 0, T: 2, nHeads: 2, probs: stack(attendTo(2, 0), uniform(2)) });
  const [h0, h1] = acc.heads();

  it('means every query row of every window', () => {
    expect(h0!.rows).toBe(6);
    // sink: A rows 1, 1/2, 1/3, 1/4; B rows 1, 1
    expect(h0!.sinkMass).toBeCloseTo((1 + 1 / 2 + 1 / 3 + 1 / 4 + 2) / 6, 6);
    // entropy: A log 1..log 4; B 0, 0
    expect(h0!.entropy).toBeCloseTo((Math.log(2) + Math.log(3) + Math.log(4)) / 6, 6);
    // distance: A (i/2 for i = 0..3); B 0, 1
    expect(h0!.meanDistance).toBeCloseTo((0 + 0.5 + 1 + 1.5 + 0 + 1) / 6, 6);
    // head 1: previous-token in A (distance 0, 1, 1, 1), uniform in B (0, 0.5)
    expect(h1!.meanDistance).toBeCloseTo(3.5 / 6, 6);
    expect(h1!.coverage[0]).toBeCloseTo((4 + 1 + 0.5) / 6, 6);
  });

  it('normalised entropy skips row 0', () => {
    // head 0: A rows 1..3 are uniform (1 each); B row 1 is one-hot (0)
    expect(h0!.normalizedEntropy).toBeCloseTo(3 / 4, 6);
    expect(h1!.normalizedEntropy).toBeCloseTo(1 / 4, 6);
  });

  it('weights the vertical/slash scores by window length', () => {
    // head 1 in A: with c = 1 the top diagonal is offset 1 (rows 1..3); row 0 sits on offset 0
    const uA = (H(4) - H(0)) / 4;
    const shareA = 3 / 4; // offset 1 holds rows 1..3
    const slashA = (shareA - uA) / (1 - uA);
    expect(h1!.slash).toBeCloseTo((4 * slashA + 2 * 0) / 6, 5);
  });

  it('per-position means over the windows that reach each position', () => {
    const p = acc.positions();
    expect(Array.from(p.windows)).toEqual([2, 2, 1, 1]);
    // head 0, position 1: A uniform over 2 (log 2), B one-hot on token 0 (0)
    expect(p.entropy[1]).toBeCloseTo(Math.log(2) / 2, 6);
    expect(p.sinkMass[1]).toBeCloseTo((0.5 + 1) / 2, 6);
    expect(p.meanDistance[4 + 3]).toBeCloseTo(1, 6); // head 1, position 3: previous token
  });

  it('tables: one row per head and per (layer, head, position), documented columns, IPC round trip', () => {
    const r = probeResult(acc, 2);
    expect(r.summary.windows).toBe(2);
    expect(r.summary.tokens).toBe(6);
    expect(r.heads.numRows).toBe(2);
    const names = r.heads.schema.fields.map((f) => f.name);
    expect(names).toContain(HEAD_PROBE_COLUMNS.coverage(2));
    expect(names).toContain('locality_0');
    expect(names).toContain('locality_2_3');
    expect(r.heads.schema.metadata.get('sparsebook.table')).toBe('attention-head-probes');
    expect(r.positions.numRows).toBe(2 * 4);
    expect(r.positions.schema.fields.map((f) => f.name)).toEqual(
      POSITION_PROBE_SCHEMA.fields.map((f) => f.name),
    );
    const back = tableFromIPC(tableToIPC(r.heads, 'file'));
    expect(back.getChild('sink_mass')!.get(0)).toBeCloseTo(h0!.sinkMass, 6);
  });

  it('refuses patterns that do not fit and bad settings', () => {
    const shape = { nLayers: 1, nHeads: 2, seqLen: 4 };
    expect(() => acc.add({ layer: 1, T: 2, nHeads: 2, probs: new Float32Array(8) })).toThrow(/does not fit/);
    expect(() => acc.add({ layer: 0, T: 2, nHeads: 2, probs: new Float32Array(7) })).toThrow(/expected/);
    expect(() => new ProbeAccumulator(shape, { ks: [4, 2], nSink: 1, lines: 8 })).toThrow(/ascending/);
    expect(() => new ProbeAccumulator(shape, { ks: [1], nSink: -1, lines: 8 })).toThrow(/nSink/);
  });
});
