/**
 * The MoE lab through the CLI, as a user runs it (real subprocesses, CPU backend): `moe-stats`
 * fields on a bundled MoE and an architecture fixture, routing logs written and re-read (one file
 * and split), routing interventions in `eval`, aux-free balancing and expert pruning.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'cli/bin.mjs');
const micro = path.join(root, 'public/models/sparsebook-moe-micro');
const corpus = path.join(root, 'public/models/corpus');
const olmoe = path.join(root, 'test/fixtures/arch/olmoe');

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 240_000 });
}

function json<T = Record<string, unknown>>(args: string[]): T {
  const r = run([...args, '--json']);
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

interface StatsJson {
  nExperts: number;
  tokens: number;
  coactivation: number[][][];
  lbl_micro: number;
  lbl_global: number;
  layers: { load: number[] }[];
  log_layers: {
    expert_load: number[];
    coactivation: number[][];
    top_k_mass: number;
    cls: { chunk: number; cls: number }[];
  }[];
  cross_layer: { predictability: number }[];
}

let dir: string;
/** The first documents of two validation texts (a few KB each keeps every run short). */
let code: string;
let email: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'moe-lab-'));
  const head = (domain: string, docs: number) =>
    readFileSync(path.join(corpus, `valid-${domain}.txt`), 'utf8')
      .split('\n<|endoftext|>\n')
      .slice(0, docs)
      .join('\n<|endoftext|>\n');
  code = path.join(dir, 'valid-code.txt');
  email = path.join(dir, 'valid-email.txt');
  writeFileSync(code, head('code', 2));
  writeFileSync(email, head('email', 2));
});

describe('sparsebook moe-stats / moe-balance / moe-prune / eval interventions', () => {
  it('moe-stats reports co-activation, LBL at both scopes and per-layer load; a re-read routing log gives identical numbers', () => {
    const out = path.join(dir, 'routing.parquet');
    const recorded = json<StatsJson>([
      'moe-stats',
      '--model',
      micro,
      '--text',
      code,
      '--text',
      email,
      '--routing-out',
      out,
    ]);
    expect(recorded.log_layers).toHaveLength(4);
    expect(recorded.coactivation).toHaveLength(4);
    expect(recorded.coactivation[0]).toHaveLength(8);
    for (const l of recorded.log_layers) {
      expect(l.expert_load.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
      l.coactivation.forEach((row, i) => expect(row[i]).toBe(l.expert_load[i]! > 0 ? 1 : 0));
      expect(l.top_k_mass).toBeGreaterThan(2 / 8);
      expect(l.top_k_mass).toBeLessThanOrEqual(1);
    }
    // A trained balanced router: LBL near 1, and micro ≥ global (evenness inside every document is the harder target).
    expect(recorded.lbl_micro).toBeGreaterThan(1);
    expect(recorded.lbl_micro).toBeLessThan(1.5);
    expect(recorded.lbl_micro).toBeGreaterThanOrEqual(recorded.lbl_global);
    const reread = json<StatsJson>(['moe-stats', '--routing-log', out]);
    expect(reread.tokens).toBe(recorded.tokens);
    expect(reread.log_layers.map((l) => l.expert_load)).toEqual(
      recorded.log_layers.map((l) => l.expert_load),
    );
    expect(reread.lbl_micro).toBe(recorded.lbl_micro);
    expect(reread.coactivation).toEqual(recorded.coactivation);
    // Which experts each scope pushes, per domain: global scope weighs every domain alike.
    const push = (recorded.log_layers[0] as unknown as { push: { domain: string; global: number[] }[] }).push;
    expect(push.map((p) => p.domain)).toEqual(['code', 'email']);
    expect(push[0]!.global).toEqual(push[1]!.global);

    const split = path.join(dir, 'split');
    mkdirSync(split);
    const parts = json<{ routing_out: string[] }>([
      'moe-stats',
      '--model',
      micro,
      '--text',
      code,
      '--text',
      email,
      '--routing-out',
      path.join(split, 'log.parquet'),
      '--split-rows',
      '3000',
    ]);
    expect(parts.routing_out.length).toBeGreaterThan(1);
    expect(readdirSync(split).length).toBe(parts.routing_out.length);
    const fromParts = json<StatsJson>(['moe-stats', '--routing-log', split]);
    expect(fromParts.log_layers.map((l) => l.expert_load)).toEqual(
      recorded.log_layers.map((l) => l.expert_load),
    );
  });

  it('moe-stats on the OLMoE architecture fixture (64 experts, top-8 in HF’s config)', () => {
    const text = path.join(dir, 'short.txt');
    writeFileSync(text, 'The quick brown fox jumps over the lazy dog. '.repeat(4));
    const r = json<StatsJson>(['moe-stats', '--model', olmoe, '--text', text]);
    expect(r.log_layers.length).toBeGreaterThan(0);
    expect(r.coactivation[0]).toHaveLength(r.nExperts);
    expect(Number.isFinite(r.lbl_micro) && Number.isFinite(r.lbl_global)).toBe(true);
  });

  it('eval --disable-expert changes the loss; a bad layer is refused naming it', () => {
    const base = json<{ loss: number }>(['eval', '--model', micro, '--text', email]);
    const off = json<{ loss: number; interventions: unknown }>([
      'eval',
      '--model',
      micro,
      '--text',
      email,
      '--disable-expert',
      '*:3',
    ]);
    expect(off.loss).toBeGreaterThan(base.loss + 0.01);
    expect(off.interventions).toEqual({ disabledExperts: [3] });
    const bad = run(['eval', '--model', micro, '--text', email, '--disable-expert', '9:3']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/"9" is not a layer index \(the model has 4 layers\)/);
    expect(run(['eval', '--model', micro, '--text', email, '--disable-expert', '3']).stderr).toMatch(
      /LAYER:EXPERT/,
    );
  });

  it('moe-balance --method aux-free lowers max/mean load and reports the loss change', () => {
    const r = json<{
      max_over_mean_before: number;
      max_over_mean_after: number;
      moved: number;
      loss_before: number;
      loss_after: number;
      layers: { steps: number[]; bias: number[] }[];
    }>([
      'moe-balance',
      '--model',
      micro,
      '--text',
      email,
      '--method',
      'aux-free',
      '--rate',
      '0.002',
      '--step-tokens',
      '32',
      '--epochs',
      '4',
    ]);
    expect(r.max_over_mean_after).toBeLessThan(r.max_over_mean_before);
    expect(r.moved).toBeGreaterThan(0);
    expect(r.moved).toBeLessThan(0.5);
    expect(r.loss_after).not.toBe(r.loss_before);
    expect(r.layers[0]!.bias).toHaveLength(8);
    expect(r.layers[0]!.steps.length).toBeGreaterThan(10);
    console.log(
      `aux-free on the micro MoE: max/mean ${r.max_over_mean_before.toFixed(3)} → ${r.max_over_mean_after.toFixed(3)}, moved ${(100 * r.moved).toFixed(1)} %, loss ${r.loss_before.toFixed(4)} → ${r.loss_after.toFixed(4)}`,
    );
  });

  it('moe-prune sweeps experts dropped per layer: dropping none is the model, dropping more costs loss', () => {
    const base = json<{ loss: number }>(['eval', '--model', micro, '--text', email]);
    const r = json<{ points: { dropped: number; loss: number; disabled: number[][] }[] }>([
      'moe-prune',
      '--model',
      micro,
      '--calibration',
      code,
      '--text',
      email,
      '--by',
      'frequency',
      '--drop',
      '0,2,4',
    ]);
    expect(r.points.map((p) => p.dropped)).toEqual([0, 2, 4]);
    expect(r.points[0]!.loss).toBeCloseTo(base.loss, 9);
    expect(r.points[1]!.disabled.every((d) => d.length === 2)).toBe(true);
    expect(r.points[2]!.loss).toBeGreaterThan(r.points[0]!.loss);
    const tooMany = run([
      'moe-prune',
      '--model',
      micro,
      '--calibration',
      code,
      '--text',
      email,
      '--drop',
      '7',
    ]);
    expect(tooMany.stderr).toMatch(/experts dropped per layer must be an integer in \[0, 6\]/);
  });
});
