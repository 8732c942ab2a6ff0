/**
 * The analysis commands as users run them (real subprocesses) on architecture fixture folders:
 * pruning GPT-2 (no w3) and refusing to export it, attention probes on Gemma 3, and MoE routing
 * statistics on Qwen2-MoE, each reporting the HF architecture.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { archFolder } from '../helpers/arch-folders';
import { sharedPath, TINYSTORIES_VALID } from '../helpers/shared-paths';

const bin = path.resolve(import.meta.dirname, '../../cli/bin.mjs');
const dir = mkdtempSync(path.join(tmpdir(), 'sparsebook-arch-cli-'));
const text = ['--text', sharedPath(TINYSTORIES_VALID)];

function sparsebook(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 240_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;

describe('sparsebook on architecture fixture folders', () => {
  it('prune GPT-2: Wanda 2:4 over its six linears; --out is refused before any work, naming the architecture', () => {
    const prune = ['prune', '--model', archFolder('gpt2'), ...text, '--max-windows', '1'];
    const opts = ['--calibration-windows', '1', '--method', 'wanda', '--pattern', '2:4', '--json'];
    const r = sparsebook(...prune, ...opts);
    expect(r.code, r.stderr).toBe(0);
    const j = lastJson(r.stdout);
    // 2 blocks × (4 attention [32, 32] + w1 [128, 32] + w2 [32, 128]).
    expect(j).toMatchObject({ method: 'wanda', pattern: '2:4', total: 2 * (4 * 32 * 32 + 2 * 128 * 32) });
    expect(j.nonzeros).toBe((j.total as number) / 2);
    expect(Number.isFinite(j.loss)).toBe(true);

    const out = path.join(dir, 'gpt2-pruned');
    const refused = sparsebook(...prune, ...opts, '--out', out);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /cannot export the pruned model: .*only dense Llama-architecture models fit, and gpt2 is a GPT2LMHeadModel/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('attention-probe on Gemma 3: one row per head, sliding layers local', () => {
    const r = sparsebook(
      'attention-probe',
      '--model',
      archFolder('gemma3'),
      ...text,
      '--max-windows',
      '1',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const j = lastJson(r.stdout) as { heads: { layer: number; mean_distance: number; entropy: number }[] };
    expect(j.heads).toHaveLength(4 * 4);
    for (const h of j.heads) {
      expect(h.entropy).toBeGreaterThanOrEqual(0);
      if (h.layer < 3) expect(h.mean_distance).toBeLessThanOrEqual(15);
    }
  });

  it('moe-stats on Qwen2-MoE: loads over 8 experts, hf_architecture in the JSON', () => {
    const r = sparsebook(
      'moe-stats',
      '--model',
      archFolder('qwen2_moe'),
      ...text,
      '--max-tokens',
      '256',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    const j = lastJson(r.stdout) as {
      architecture: string;
      hf_architecture: string;
      nExperts: number;
      layers: { load: number[] }[];
    };
    expect(j).toMatchObject({ architecture: 'mixtral', hf_architecture: 'Qwen2MoeForCausalLM', nExperts: 8 });
    for (const l of j.layers) expect(l.load.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  });
});
