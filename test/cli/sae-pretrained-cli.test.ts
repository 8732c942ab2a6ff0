/**
 * `sparsebook sae eval|info|releases` with pretrained SAEs as users run them (real subprocesses),
 * loaded from folders and by hub id through the local hub stand-in (HF_ENDPOINT): SAEs built exact
 * on the gpt2 fixture's activations give EV 1, L0 = the construction and loss recovered 1 whatever
 * the format; a second load comes from the cache; SAEs that do not fit the model, files that do not
 * say their hook, and transcoders are clear errors.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { writeSafetensors } from '../../runtime/formats/safetensors-write';
import {
  activationsAt,
  exactSae,
  gemmaScopeFolder,
  saeLensFolder,
  sparsifyFolder,
  type ExactSae,
} from '../analyses/sae/exact-saes';
import { archFolder, loadArchFolder } from '../helpers/arch-folders';
import { startHubServer, type HubServer } from '../helpers/hub-server';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'cli/bin.mjs');
const work = mkdtempSync(path.join(tmpdir(), 'sparsebook-sae-pretrained-'));
const textFile = path.join(work, 'text.txt');
const TEXT = [
  'Once upon a time, a fox met a crow in the old wood.',
  'The crow had a piece of cheese; the fox wanted it very much.',
].join('<|endoftext|>');
writeFileSync(textFile, TEXT);
const GPT2 = archFolder('gpt2');
const HOOK = 'blocks.0.hook_resid_post';

let hub: HubServer;
let exact: ExactSae;

function sparsebook(args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [bin, 'sae', ...args], {
      env: { ...process.env, HF_ENDPOINT: hub.endpoint, ...env },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;

function folder(name: string, files: Record<string, Uint8Array>): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, bytes] of Object.entries(files)) writeFileSync(path.join(dir, f), bytes);
  return dir;
}

beforeAll(async () => {
  // The activations the CLI will see at the hook: same fixture, same text, same windows.
  const { model, tokenizer } = loadArchFolder(createCpuBackend(), 'gpt2');
  const { x, d } = await activationsAt(model, tokenizer, TEXT, HOOK);
  exact = exactSae(x, d, { construction: 'pairs', applyBDec: false, extras: 3 });

  hub = await startHubServer();
  // A Gemma-Scope-style repository: params.npz only, the hook read from the repository and path.
  folder('hub-gs/layer_0/width_16k/average_l0_32', gemmaScopeFolder(exact));
  hub.add('test/gemma-scope-tiny-pt-res', { dir: path.join(work, 'hub-gs') });
  // SAELens and sparsify folders in one repository; a fake res-jb release folder (d_in 32).
  const pairs = exactSae(x, d, { construction: 'pairs', applyBDec: true });
  const noBDec = exactSae(x, d, { construction: 'pairs', applyBDec: false });
  const repo = path.join(work, 'hub-saes');
  folder(
    'hub-saes/saelens/blocks.0.hook_resid_post',
    saeLensFolder(noBDec, { hook_name: HOOK, apply_b_dec_to_input: false }),
  );
  folder('hub-saes/sparsify/layers.0', sparsifyFolder(pairs, pairs.l0));
  hub.add('test/saes', { dir: repo });
  hub.add('jbloom/GPT2-Small-SAEs-Reformatted', {
    dir: folder('hub-jb', {}),
  });
  folder('hub-jb/blocks.8.hook_resid_pre', saeLensFolder(pairs, { hook_name: 'blocks.8.hook_resid_pre' }));
});
afterAll(() => hub.close());

const METRICS = ['explained_variance', 'l0', 'loss_recovered'] as const;

describe('sparsebook sae eval with pretrained SAEs', () => {
  it('a Gemma Scope params.npz by hub id: hook from the repository and path, exact, then from the cache', async () => {
    const cache = path.join(work, 'cache-gs');
    const id = 'hf:test/gemma-scope-tiny-pt-res/layer_0/width_16k/average_l0_32';
    const args = ['eval', '--model', GPT2, '--text', textFile, '--sae', id, '--json'];
    const r = await sparsebook(args, { SPARSEBOOK_CACHE: cache });
    expect(r.code, r.stderr).toBe(0);
    const j = lastJson(r.stdout);
    expect(j).toMatchObject({
      format: 'gemma-scope',
      architecture: 'jumprelu',
      hook: HOOK,
      d_in: 32,
      sae: id,
    });
    expect(j.explained_variance as number).toBeCloseTo(1, 5);
    expect(j.l0).toBe(exact.l0);
    expect(j.loss_recovered as number).toBeCloseTo(1, 3);
    expect((j.conventions as string[]).join('\n')).toMatch(/no b_dec subtraction/);
    const got = hub.log.filter(
      (l) => l.repo === 'test/gemma-scope-tiny-pt-res' && l.method === 'GET' && l.status === 200,
    );
    expect(got.map((l) => l.file)).toEqual(['layer_0/width_16k/average_l0_32/params.npz']);

    hub.log.length = 0;
    const again = await sparsebook(args, { SPARSEBOOK_CACHE: cache });
    expect(again.code, again.stderr).toBe(0);
    for (const k of METRICS) expect(lastJson(again.stdout)[k]).toBe(j[k]);
    expect(hub.log.filter((l) => l.method === 'GET' && l.status !== 404)).toEqual([]);
    expect(again.stderr).toMatch(/params\.npz: in the cache/);
  });

  it('SAELens and sparsify folders by hub id, and the same SAELens folder locally, all exact', async () => {
    const cache = path.join(work, 'cache-saes');
    for (const [sae, format] of [
      ['hf:test/saes/saelens/blocks.0.hook_resid_post', 'saelens'],
      ['hf:test/saes@main/sparsify/layers.0', 'sparsify'],
      [path.join(work, 'hub-saes/saelens/blocks.0.hook_resid_post'), 'saelens'],
      [path.join(work, 'hub-saes/saelens/blocks.0.hook_resid_post/sae_weights.safetensors'), 'saelens'],
    ] as const) {
      const r = await sparsebook(['eval', '--model', GPT2, '--text', textFile, '--sae', sae, '--json'], {
        SPARSEBOOK_CACHE: cache,
      });
      expect(r.code, `${sae}: ${r.stderr}`).toBe(0);
      const j = lastJson(r.stdout);
      expect(j, sae).toMatchObject({ format, hook: HOOK });
      expect(j.explained_variance as number, sae).toBeCloseTo(1, 5);
      expect(j.loss_recovered as number, sae).toBeCloseTo(1, 3);
      expect(j.l0, sae).toBe(32);
    }
  });

  it('a params.npz that does not say its hook needs --hook; with it, it is exact', async () => {
    const dir = folder('local-gs', gemmaScopeFolder(exact));
    const base = [
      'eval',
      '--model',
      GPT2,
      '--text',
      textFile,
      '--sae',
      path.join(dir, 'params.npz'),
      '--json',
    ];
    const r = await sparsebook(base);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/local-gs\/params\.npz: it does not say which hook it reads; give --hook/);
    const ok = await sparsebook([...base, '--hook', HOOK]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(lastJson(ok.stdout).explained_variance as number).toBeCloseTo(1, 5);
  });

  it('an SAE whose d_in or hook does not fit the model is a clear error', async () => {
    const gemma3 = archFolder('gemma3');
    const wide = await sparsebook([
      'eval',
      '--model',
      gemma3,
      '--text',
      textFile,
      '--sae',
      'hf:test/saes/saelens/blocks.0.hook_resid_post',
    ]);
    expect(wide.code).toBe(1);
    expect(wide.stderr).toMatch(
      /hf:test\/saes\/saelens\/blocks\.0\.hook_resid_post\/cfg\.json: d_in is 32 but the activations at blocks\.0\.hook_resid_post have width 48 \(this SAE was trained on tiny\)/,
    );
    // A release of the table, served by the stand-in: layer 8 of a 2-layer model.
    const deep = await sparsebook([
      'eval',
      '--model',
      GPT2,
      '--text',
      textFile,
      '--sae',
      'gpt2-small-res-jb/blocks.8.hook_resid_pre',
    ]);
    expect(deep.code).toBe(1);
    expect(deep.stderr).toMatch(
      /invalid hook "blocks\.8\.hook_resid_pre": expected blocks\.L\.POINT with L in 0–1/,
    );
  });
});

describe('sparsebook sae info and releases', () => {
  it('info on a release: hub id, hook and Neuronpedia id from the table, TransformerLens centring', async () => {
    const r = await sparsebook(['info', '--sae', 'GPT-2 small · res-jb · layer 8', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = lastJson(r.stdout);
    expect(j).toMatchObject({
      sae: 'hf:jbloom/GPT2-Small-SAEs-Reformatted/blocks.8.hook_resid_pre',
      format: 'saelens',
      hook: 'blocks.8.hook_resid_pre',
      neuronpedia: 'gpt2-small/8-res-jb',
      release: 'gpt2-small-res-jb/blocks.8.hook_resid_pre',
    });
    expect((j.conventions as string[]).join('\n')).toMatch(/center_writing_weights/);
    const list = await sparsebook(['releases', '--json']);
    const table = JSON.parse(list.stdout) as { id: string; hub_id: string }[];
    expect(table.length).toBeGreaterThanOrEqual(12);
    expect(
      table.find((t) => t.id === 'gemma-scope-2b-pt-res-canonical/layer_20/width_16k/canonical')?.hub_id,
    ).toBe('hf:google/gemma-scope-2b-pt-res/layer_20/width_16k/average_l0_71');
  });

  it('a transcoder loads with both hooks and fits the model; eval splices its output in place of the MLP', async () => {
    const dIn = 32;
    const dSae = 16;
    const rnd = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const st = writeSafetensors(
      [
        { name: 'W_enc', shape: [dIn, dSae], data: rnd(dIn * dSae) },
        { name: 'b_enc', shape: [dSae], data: rnd(dSae) },
        { name: 'W_dec', shape: [dSae, dIn], data: rnd(dSae * dIn) },
        { name: 'b_dec', shape: [dIn], data: rnd(dIn) },
        { name: 'W_skip', shape: [dIn, dIn], data: rnd(dIn * dIn) },
      ].map((t) => ({ ...t, dtype: 'F32' as const })),
    );
    const cfg = {
      architecture: 'skip_transcoder',
      d_in: dIn,
      d_out: dIn,
      d_sae: dSae,
      hook_name: 'blocks.1.mlp.hook_in',
      hook_name_out: 'blocks.1.hook_mlp_out',
    };
    const dir = folder('transcoder', {
      'cfg.json': new TextEncoder().encode(JSON.stringify(cfg)),
      'sae_weights.safetensors': st,
    });
    const info = await sparsebook(['info', '--sae', dir, '--model', GPT2, '--json']);
    expect(info.code, info.stderr).toBe(0);
    expect(lastJson(info.stdout)).toMatchObject({
      kind: 'transcoder',
      architecture: 'skip_transcoder',
      hook_in: 'blocks.1.ln2.hook_normalized',
      hook_out: 'blocks.1.hook_mlp_out',
      d_in: 32,
      d_out: 32,
      d_sae: 16,
      fits_model: true,
    });
    const ev = await sparsebook([
      'eval',
      '--model',
      GPT2,
      '--text',
      textFile,
      '--sae',
      dir,
      '--max-windows',
      '1',
      '--json',
    ]);
    expect(ev.code, ev.stderr).toBe(0);
    const e = lastJson(ev.stdout) as Record<string, number | string>;
    expect(e).toMatchObject({
      kind: 'transcoder',
      hook: 'blocks.1.hook_mlp_out',
      hook_in: 'blocks.1.ln2.hook_normalized',
    });
    // Random weights predict the MLP badly: splicing them in moves the loss and the distribution.
    expect(Math.abs((e.loss_spliced as number) - (e.loss_clean as number))).toBeGreaterThan(1e-3);
    expect(e.kl_div_with_sae as number).toBeGreaterThan(0);
    expect(Number.isFinite(e.explained_variance)).toBe(true);
  });
});
