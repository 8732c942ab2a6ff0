/**
 * The SAE cell's pretrained SAEs opened by hub id or release in the runtime worker's code
 * (workers/sae-hub.ts over runtime/sources/hub-files.ts), through the local hub stand-in, on the
 * gpt2 fixture (CPU backend):
 *
 * - a SAELens folder by id: Range requests, progress with bytes; exact (EV 1, L0 = d_in, loss
 *   recovered 1); browsable (a feature card with contexts and its Neuronpedia page); a second open
 *   reads it from the cache (ETag checks only); a changed ETag fetches it again;
 * - a release of the table resolves to its repository and path, brings its hook, conventions and
 *   Neuronpedia id;
 * - bad input: 404 (repository; folder without weights), truncated download (nothing cached), a
 *   safetensors header over 100 MB (refused before any data), a full cache (a note; nothing
 *   half-written kept), d_in or hook that do not fit the model (naming the file), a cancel
 *   (aborts the transfer), a gated repository (the token in no message or summary);
 * - a transcoder opens spliced in place of its MLP output and evaluated (not kept for feature views).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { evaluateTranscoder } from '../../analyses/sae/evaluate';
import { loadPretrainedSae } from '../../analyses/sae/pretrained';
import { findRelease } from '../../analyses/sae/releases';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { memoryHubCache } from '../../runtime/sources/hub-cache';
import type { HubLoadProgress } from '../../runtime/sources/hub-model';
import { saeHubId, saeHubJob, type SaeHubRequest } from '../../workers/sae-hub';
import { saeBrowseJob, saeFeatureJob, SaeStore } from '../../workers/sae-jobs';
import {
  activationsAt,
  exactSae,
  gemmaScopeFolder,
  saeLensFolder,
  type ExactSae,
} from '../analyses/sae/exact-saes';
import { loadArchFolder } from '../helpers/arch-folders';
import { startHubServer, type HubServer } from '../helpers/hub-server';

const work = mkdtempSync(path.join(tmpdir(), 'sparsebook-sae-hub-'));
const TEXT = [
  'Once upon a time, a fox met a crow in the old wood.',
  'The crow had a piece of cheese; the fox wanted it very much.',
].join('<|endoftext|>');
const HOOK = 'blocks.0.hook_resid_post';
const TOKEN = 'hf_sae_secret_token_271828';
const { model, tokenizer } = loadArchFolder(createCpuBackend(), 'gpt2');

let hub: HubServer;
let exact: ExactSae;
const store = new SaeStore();

/** A folder's files as the hub serves them (name → bytes). */
function readFolder(name: string): Record<string, Uint8Array> {
  const dir = path.join(work, name);
  return Object.fromEntries(
    readdirSync(dir).map((f) => [f, new Uint8Array(readFileSync(path.join(dir, f)))]),
  );
}

function folder(name: string, files: Record<string, Uint8Array>): string {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  for (const [f, bytes] of Object.entries(files)) writeFileSync(path.join(dir, f), bytes);
  return dir;
}

beforeAll(async () => {
  const { x, d } = await activationsAt(model, tokenizer, TEXT, HOOK);
  exact = exactSae(x, d, { construction: 'pairs', applyBDec: true });
  hub = await startHubServer();
  const np = { neuronpedia_id: 'tiny-gpt2/0-res-test' };
  folder('saes/blocks.0.hook_resid_post', saeLensFolder(exact, { hook_name: HOOK, ...np }));
  folder('saes/ignores-b-dec', saeLensFolder(exact, { hook_name: HOOK, apply_b_dec_to_input: false }));
  folder(
    'saes/wide',
    saeLensFolder(exactSae(new Float32Array(48), 48, { construction: 'pairs', applyBDec: true }), {}),
  );
  folder('saes/deep', saeLensFolder(exact, { hook_name: 'blocks.9.hook_resid_post' }));
  folder('saes/transcoder', {
    ...saeLensFolder(exact, {
      architecture: 'transcoder',
      d_out: exact.dIn,
      hook_name: 'blocks.0.ln2.hook_normalized',
      hook_name_out: 'blocks.0.hook_mlp_out',
      apply_b_dec_to_input: false,
    }),
  });
  folder('saes/empty', { 'README.md': new TextEncoder().encode('no SAE here') });
  folder('saes/absurd', {
    'cfg.json': saeLensFolder(exact, { hook_name: HOOK })['cfg.json']!,
    'sae_weights.safetensors': (() => {
      const b = new Uint8Array(64);
      new DataView(b.buffer).setBigUint64(0, 200_000_000n, true);
      return b;
    })(),
  });
  hub.add('test/saes', { dir: path.join(work, 'saes') });
  hub.add('gated/saes', { dir: path.join(work, 'saes'), token: TOKEN });
  // The res-jb layer-8 release's repository, serving a folder for this model (its hook overridden).
  folder('jb/blocks.8.hook_resid_pre', saeLensFolder(exact, { hook_name: 'blocks.8.hook_resid_pre' }));
  hub.add('jbloom/GPT2-Small-SAEs-Reformatted', { dir: path.join(work, 'jb') });
  // A Gemma-Scope-style params.npz in a release-less repository: the hook comes from the request.
  const scope = exactSae(rowsOf(), exact.dIn, { construction: 'pairs', applyBDec: false });
  folder('gs/layer_0/width_16k/average_l0_32', gemmaScopeFolder(scope));
  hub.add('test/scope-tiny', { dir: path.join(work, 'gs') });
});
afterAll(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  hub.noRange = false;
  hub.truncated.clear();
  hub.bytesPerSecond = 0;
  hub.log.length = 0;
});

/** Rows a pairs SAE is built on (it is exact on any rows). */
function rowsOf(): Float32Array {
  return Float32Array.from({ length: 8 * exact.dIn }, (_, i) => Math.cos(i * 0.37));
}

const open = (request: Partial<SaeHubRequest> & { sae: string }, o: Parameters<typeof saeHubJob>[4] = {}) =>
  saeHubJob(
    model,
    tokenizer,
    store,
    { cellId: 'hub', text: TEXT, endpoint: hub.endpoint, evalWindows: 2, ...request },
    o,
  );

const gets = (file: string) => hub.log.filter((r) => r.method === 'GET' && r.file.endsWith(file));

describe('a pretrained SAE opened by hub id', () => {
  it('comes by Range requests with progress, is exact, browsable with Neuronpedia links, then read from the cache', async () => {
    const cache = memoryHubCache();
    const seen: HubLoadProgress[] = [];
    const r = await open(
      { sae: 'hf:test/saes/blocks.0.hook_resid_post' },
      { cache, onProgress: (p) => seen.push(p) },
    );
    const e = r.summary.evaluation!;
    expect(e.explained_variance).toBeCloseTo(1, 5);
    expect(e.l0).toBe(exact.l0);
    expect(e.loss_recovered).toBeCloseTo(1, 4);
    expect(r.summary).toMatchObject({ hook: HOOK, dIn: exact.dIn, dSae: exact.dSae, kind: 'relu' });
    expect(r.summary.hub).toMatchObject({
      id: 'hf:test/saes/blocks.0.hook_resid_post',
      format: 'saelens',
      architecture: 'standard',
      neuronpedia: 'tiny-gpt2/0-res-test',
    });
    expect(r.summary.hub!.files.map((f) => [f.file, f.cached])).toEqual([
      ['cfg.json', false],
      ['sae_weights.safetensors', false],
    ]);
    expect(r.summary.hub!.downloadedBytes).toBe(r.summary.hub!.bytes);
    // The header by range first, then the tensors by range.
    const w = gets('sae_weights.safetensors');
    expect(w.length).toBeGreaterThanOrEqual(3);
    expect(w.every((q) => q.status === 206 && q.range)).toBe(true);
    const last = seen.filter((p) => p.file === 'sae_weights.safetensors').at(-1)!;
    expect(last).toMatchObject({ done: last.total, fromCache: false });

    // Browsable like a trained SAE: a feature card with contexts and its Neuronpedia page.
    const ref = { saeCell: 'hub', saeId: r.summary.saeId };
    await saeBrowseJob(tokenizer, store, { ...ref, text: TEXT, maxWindows: 2, topN: 3 });
    const card = await saeFeatureJob(tokenizer, store, { ...ref, feature: 1 });
    expect(card.contexts.length).toBeGreaterThan(0);
    expect(card.neuronpedia).toBe('https://www.neuronpedia.org/tiny-gpt2/0-res-test/1');

    // Again: from the cache, the hub asked only for ETags.
    hub.log.length = 0;
    const again = await open({ sae: 'hf:test/saes/blocks.0.hook_resid_post' }, { cache });
    expect(hub.log.filter((q) => q.method === 'GET')).toEqual([]);
    expect(again.summary.hub!.files.every((f) => f.cached)).toBe(true);
    expect(again.summary.hub!.downloadedBytes).toBe(0);
    expect(again.summary.evaluation!.explained_variance).toBeCloseTo(1, 5);

    // A new upload (changed ETag): the weights come again.
    hub.bumpEtag('test/saes', 'blocks.0.hook_resid_post/sae_weights.safetensors');
    hub.log.length = 0;
    const third = await open(
      { sae: 'hf:test/saes/blocks.0.hook_resid_post', skipEvaluation: true },
      { cache },
    );
    expect(gets('sae_weights.safetensors').length).toBeGreaterThan(0);
    expect(gets('cfg.json')).toEqual([]);
    expect(third.summary.hub!.files.find((f) => f.file === 'sae_weights.safetensors')!.cached).toBe(false);
  });

  it('an SAE read without its apply_b_dec_to_input convention is not exact', async () => {
    // The same weights, the file saying the encoder does not subtract b_dec: the check must see it.
    const r = await open({ sae: 'hf:test/saes/ignores-b-dec' });
    expect(r.summary.evaluation!.explained_variance).toBeLessThan(0.99);
  });

  it('a file of the folder by id, and a params.npz with the hook given', async () => {
    const r = await open({
      sae: 'hf:test/saes/blocks.0.hook_resid_post/sae_weights.safetensors',
      skipEvaluation: true,
    });
    expect(r.summary.hub!.id).toBe('hf:test/saes/blocks.0.hook_resid_post');
    const npz = await open({
      sae: 'hf:test/scope-tiny/layer_0/width_16k/average_l0_32',
      hook: HOOK,
      skipEvaluation: true,
    });
    expect(npz.summary.hub).toMatchObject({ format: 'gemma-scope', architecture: 'jumprelu' });
    expect(npz.summary.hook).toBe(HOOK);
  });

  it('a release of the table: its repository and path, hook, conventions and Neuronpedia id', async () => {
    const rel = findRelease('gpt2-small-res-jb/blocks.8.hook_resid_pre')!;
    expect(saeHubId(rel.label)).toMatchObject({
      id: { repo: 'jbloom/GPT2-Small-SAEs-Reformatted', path: 'blocks.8.hook_resid_pre', revision: 'main' },
      release: rel,
    });
    // The same repository by id (at a revision) is recognised as the release, keeping the revision.
    expect(saeHubId('hf:jbloom/GPT2-Small-SAEs-Reformatted@abc123/blocks.8.hook_resid_pre')).toMatchObject({
      id: { revision: 'abc123' },
      release: rel,
    });
    expect(() => saeHubId('not a release')).toThrow(/not a hub id or a release of the table/);
    // The stand-in serves the release's folder for this tiny model; its hook is overridden to fit.
    const r = await open({ sae: rel.id, hook: HOOK });
    expect(r.summary.hub).toMatchObject({ release: rel.label, neuronpedia: 'gpt2-small/8-res-jb' });
    expect(r.summary.hub!.conventions.join('\n')).toMatch(/center_writing_weights/);
    expect(r.summary.evaluation!.explained_variance).toBeCloseTo(1, 5);
    const ref = { saeCell: 'hub', saeId: r.summary.saeId };
    await saeBrowseJob(tokenizer, store, { ...ref, text: TEXT, maxWindows: 2, topN: 3 });
    expect((await saeFeatureJob(tokenizer, store, { ...ref, feature: 2 })).neuronpedia).toBe(
      'https://www.neuronpedia.org/gpt2-small/8-res-jb/2',
    );
    // Without the override, the release's hook is not in this 2-block model: a clear error.
    await expect(open({ sae: rel.id })).rejects.toThrow(/blocks\.8\.hook_resid_pre/);
  });
});

describe('bad input', () => {
  it('404: no such repository, and a folder with no SAE weights, name the URL', async () => {
    await expect(open({ sae: 'hf:nobody/none/layer_1' })).rejects.toThrow(
      /nobody\/none\/resolve\/main\/layer_1\/.*HTTP 404/,
    );
    await expect(open({ sae: 'hf:test/saes/empty' })).rejects.toThrow(
      /no SAE weights in hf:test\/saes\/empty \(looked for params\.npz, params\.safetensors\)/,
    );
  });

  it('a truncated download fails naming the range and caches nothing', async () => {
    const cache = memoryHubCache();
    hub.truncated.add('test/saes/blocks.0.hook_resid_post/sae_weights.safetensors');
    await expect(open({ sae: 'hf:test/saes/blocks.0.hook_resid_post' }, { cache })).rejects.toThrow(
      /sae_weights\.safetensors: truncated download: bytes \d+-\d+ came back as \d+ of \d+ bytes/,
    );
    expect([...cache.files.keys()].filter((k) => k.includes('sae_weights'))).toEqual([]);
  });

  it('a safetensors header over 100 MB is refused before any tensor data is asked for', async () => {
    await expect(open({ sae: 'hf:test/saes/absurd' })).rejects.toThrow(
      /sae_weights\.safetensors: invalid safetensors header length 200,000,000 bytes: more than the 100,000,000-byte limit/,
    );
    expect(gets('sae_weights.safetensors').map((q) => q.range)).toEqual(['bytes=0-7']);
  });

  it('a full cache is a note: the SAE opens, nothing half-written is kept', async () => {
    const cache = memoryHubCache({ quotaBytes: 1000 });
    const r = await open({ sae: 'hf:test/saes/blocks.0.hook_resid_post' }, { cache });
    expect(r.summary.evaluation!.explained_variance).toBeCloseTo(1, 5);
    expect(r.summary.hub!.notes.join('\n')).toMatch(
      /sae_weights\.safetensors was not cached: the browser's storage for this site is full/,
    );
    expect([...cache.files.keys()].filter((k) => k.includes('sae_weights'))).toEqual([]);
  });

  it('an SAE whose d_in or hook does not fit the model names the file', async () => {
    await expect(open({ sae: 'hf:test/saes/wide' })).rejects.toThrow(
      /hf:test\/saes\/wide\/cfg\.json: d_in is 48 but the activations at blocks\.0\.hook_resid_post have width 32/,
    );
    await expect(open({ sae: 'hf:test/saes/deep' })).rejects.toThrow(
      /hf:test\/saes\/deep\/cfg\.json: the SAE reads blocks\.9\.hook_resid_post, which this model does not have \(invalid hook/,
    );
  });

  it('a transcoder opens spliced in place of the MLP output, evaluated as evaluateTranscoder does, and not kept', async () => {
    const r = await open({ sae: 'hf:test/saes/transcoder' });
    expect(r.summary.saeId).toBe('');
    expect(r.summary.hook).toBe('blocks.0.ln2.hook_normalized');
    expect(r.summary.transcoder).toEqual({
      architecture: 'transcoder',
      hookOut: 'blocks.0.hook_mlp_out',
      dOut: exact.dIn,
      skip: false,
    });
    expect(r.summary.hub!.architecture).toBe('transcoder');
    const load = loadPretrainedSae(readFolder('saes/transcoder'));
    if (load.type !== 'transcoder') throw new Error('expected a transcoder');
    const direct = await evaluateTranscoder(model, tokenizer, TEXT, load.transcoder, { maxWindows: 2 });
    for (const key of ['loss_spliced', 'loss_zero_ablated', 'explained_variance', 'ce_loss_score'] as const)
      expect(r.summary.evaluation![key]).toBeCloseTo(direct[key], 6);
  });

  it('a cancel aborts the transfer at once', async () => {
    hub.bytesPerSecond = 2000;
    const controller = new AbortController();
    const p = open({ sae: 'hf:test/saes/blocks.0.hook_resid_post' }, { signal: controller.signal });
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    controller.abort(new DOMException('cancelled', 'AbortError'));
    await expect(p).rejects.toThrow(/cancel|abort/i);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a gated repository needs the token, which no message or summary contains', async () => {
    const refused = await open({ sae: 'hf:gated/saes/blocks.0.hook_resid_post' }).catch((e: Error) => e);
    expect(String(refused)).toMatch(/HTTP 401: the model is gated or private/);
    const r = await open({
      sae: 'hf:gated/saes/blocks.0.hook_resid_post',
      token: TOKEN,
      skipEvaluation: true,
    });
    expect(JSON.stringify(r)).not.toContain(TOKEN);
    expect(
      hub.log.filter((q) => q.repo === 'gated/saes').every((q) => q.authorized || q.status === 401),
    ).toBe(true);
    const wrong = await open({ sae: 'hf:gated/saes/blocks.0.hook_resid_post', token: `${TOKEN}x` }).catch(
      (e: Error) => e,
    );
    expect(String(wrong)).not.toContain(TOKEN);
  });
});
