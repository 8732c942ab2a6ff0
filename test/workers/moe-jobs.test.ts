/**
 * The MoE routing job on the bundled MoE models (public/models, CPU backend) over the bundled
 * per-domain corpus: table shapes and sums, progress per window, clear errors (a dense model is
 * named, bad budgets, cancellation), the same numbers as `sparsebook moe-stats --json` for the same
 * budget, and one run through the real client and API over a MessageChannel.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { MOE_LAYER_COLUMNS, MOE_USAGE_COLUMNS } from '../../analyses/moe';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { loadModelFiles } from '../../runtime';
import { MOE_LOAD_COLUMNS, moeRoutingJob, type MoeDomainText } from '../../workers/moe-jobs';
import { localClient } from '../helpers/local-runtime';
import type { MoeRoutingSummary } from '../../workers/runtime-types';

const root = path.resolve(import.meta.dirname, '../..');
const models = path.join(root, 'public/models');
const DOMAINS = ['literature', 'speeches', 'email', 'code'];
const corpusFile = (d: string) => path.join(models, 'corpus', `valid-${d}.txt`);
const domains: MoeDomainText[] = DOMAINS.map((domain) => ({
  domain,
  text: readFileSync(corpusFile(domain), 'utf8'),
}));
const HF_FILES = ['config.json', 'model.safetensors', 'tokenizer.bin'];
const files = (id: string) =>
  HF_FILES.map((name) => ({ name, bytes: new Uint8Array(readFileSync(path.join(models, id, name))) }));
const load = (id: string) => loadModelFiles(createCpuBackend(), files(id), { source: id });

/** Tokens per domain in the CLI comparison (2 windows of 256 per domain: a few seconds per model). */
const BUDGET = 512;

/** `sparsebook moe-stats … --json` as users run it; its last line parsed. */
function cliMoeStats(id: string, maxTokens: number): Promise<MoeRoutingSummary> {
  const args = [path.join(root, 'cli/bin.mjs'), 'moe-stats', '--model', path.join(models, id)];
  for (const d of DOMAINS) args.push('--text', corpusFile(d));
  args.push('--max-tokens', String(maxTokens), '--json');
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { cwd: root });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`moe-stats exited ${code}: ${err}`));
      const lines = out.trim().split('\n');
      resolve(JSON.parse(lines[lines.length - 1]!) as MoeRoutingSummary);
    });
  });
}

describe('moeRoutingJob', () => {
  it('routes every domain: usage, layers and load tables, progress per window', async () => {
    const { model, tokenizer } = load('sparsebook-moe-micro');
    try {
      const seen: number[] = [];
      const r = await moeRoutingJob(
        model,
        tokenizer,
        { domains, maxTokensPerDomain: 300 },
        { modelName: 'sparsebook-moe-micro', onProgress: (p) => seen.push(p.done) },
      );
      // 300 tokens = 2 windows of 256 (a full one and 44 tokens) per domain.
      expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      const s = r.summary;
      expect(s).toMatchObject({ model: 'sparsebook-moe-micro', nLayers: 4, nExperts: 8, topK: 2 });
      expect(s.domains).toEqual(DOMAINS.map((name) => ({ name, tokens: 300 })));
      expect(r.usage.numRows).toBe(4 * 4 * 8);
      expect(r.layers.numRows).toBe(4);
      expect(r.load.numRows).toBe(4 * 8);
      expect(r.usage.schema.fields.map((f) => f.name)).toEqual(Object.values(MOE_USAGE_COLUMNS));
      expect(r.layers.schema.fields.map((f) => f.name)).toEqual(Object.values(MOE_LAYER_COLUMNS));
      expect(r.load.schema.fields.map((f) => f.name)).toEqual(Object.values(MOE_LOAD_COLUMNS));
      const load = r.load.getChild('load')!.toArray() as Float32Array;
      const kl = r.load.getChild('kl')!.toArray() as Float32Array;
      for (let l = 0; l < 4; l++) {
        expect(load.slice(l * 8, l * 8 + 8).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        expect(Array.from(load.slice(l * 8, l * 8 + 8))).toEqual(
          s.layers[l]!.load.map((x) => expect.closeTo(x, 6)),
        );
        s.layers[l]!.expertKl.forEach((k, e) =>
          k === null ? expect(kl[l * 8 + e]).toBeNaN() : expect(kl[l * 8 + e]).toBeCloseTo(k, 5),
        );
        expect(s.layers[l]!.routerEntropy).toBeGreaterThan(0);
        expect(s.layers[l]!.routerEntropy).toBeLessThanOrEqual(Math.log(8) + 1e-9);
      }
      const share = r.usage.getChild('share_of_domain')!.toArray() as Float32Array;
      for (let row = 0; row < 16; row++)
        expect(share.slice(row * 8, row * 8 + 8).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(r.summary.ms).toBeGreaterThan(0);
    } finally {
      model.dispose();
    }
  });

  it('names a dense model, refuses bad budgets and stops when aborted', async () => {
    const dense = load('sparsebook-dense');
    try {
      await expect(
        moeRoutingJob(
          dense.model,
          dense.tokenizer,
          { domains, maxTokensPerDomain: 64 },
          { modelName: 'sparsebook-dense' },
        ),
      ).rejects.toThrow(/sparsebook-dense has no MoE layers/);
    } finally {
      dense.model.dispose();
    }
    const { model, tokenizer } = load('sparsebook-moe-micro');
    try {
      for (const bad of [0, 1.5, 1e9])
        await expect(moeRoutingJob(model, tokenizer, { domains, maxTokensPerDomain: bad })).rejects.toThrow(
          /maxTokensPerDomain/,
        );
      await expect(moeRoutingJob(model, tokenizer, { domains: [], maxTokensPerDomain: 8 })).rejects.toThrow(
        /at least one domain/,
      );
      const c = new AbortController();
      c.abort(new DOMException('cancelled', 'AbortError'));
      await expect(
        moeRoutingJob(model, tokenizer, { domains, maxTokensPerDomain: 64 }, { signal: c.signal }),
      ).rejects.toThrow(/cancelled/);
    } finally {
      model.dispose();
    }
  });

  it(`gives the numbers of \`sparsebook moe-stats --json\` (${BUDGET} tokens per domain)`, async () => {
    const ids = ['sparsebook-moe-micro', 'sparsebook-moe-global'];
    // The CLI runs in subprocesses while the job runs here.
    const cli = ids.map((id) => cliMoeStats(id, BUDGET));
    const spec: Record<string, number[]> = {};
    for (const [i, id] of ids.entries()) {
      const { model, tokenizer } = load(id);
      try {
        const ours = (await moeRoutingJob(model, tokenizer, { domains, maxTokensPerDomain: BUDGET })).summary;
        const theirs = await cli[i]!;
        expect(ours.domains).toEqual(theirs.domains);
        ours.layers.forEach((l, k) => {
          const t = theirs.layers[k]!;
          expect(Math.abs(l.specialisation - t.specialisation)).toBeLessThan(1e-6);
          expect(Math.abs(l.routerEntropy - t.routerEntropy)).toBeLessThan(1e-6);
          l.load.forEach((x, e) => expect(Math.abs(x - t.load[e]!)).toBeLessThan(1e-6));
        });
        spec[id] = ours.layers.map((l) => l.specialisation);
      } finally {
        model.dispose();
      }
    }
    console.log(`specialisation per layer at ${BUDGET} tokens/domain: ${JSON.stringify(spec)}`);
    // Micro-batch balancing forces even routing inside every sequence: less domain specialisation.
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(spec['sparsebook-moe-global']!)).toBeGreaterThan(mean(spec['sparsebook-moe-micro']!));
  });

  it('runs through the client and API over a MessageChannel, with progress', async () => {
    const client = await localClient();
    try {
      const buffers = files('sparsebook-moe-micro').map((f) => ({
        name: f.name,
        bytes: f.bytes.slice().buffer,
      }));
      await client.load({ key: 'moe', files: buffers });
      const progress: number[] = [];
      const r = await client.moeRouting(
        { domains, maxTokensPerDomain: 64 },
        { model: 'moe', onProgress: (p) => progress.push(p.done) },
      );
      expect(progress).toEqual([0, 1, 2, 3, 4]);
      expect(tableFromIPC(r.tables.usage).numRows).toBe(4 * 4 * 8);
      expect(tableFromIPC(r.tables.layers).numRows).toBe(4);
      expect(tableFromIPC(r.tables.load).numRows).toBe(32);
      expect(r.summary.domains.map((d) => d.tokens)).toEqual([64, 64, 64, 64]);
      const c = new AbortController();
      const pending = client.moeRouting(
        { domains, maxTokensPerDomain: 4096 },
        { model: 'moe', signal: c.signal },
      );
      c.abort();
      await expect(pending).rejects.toThrow(/cancelled/);
    } finally {
      client.dispose();
    }
  });
});
