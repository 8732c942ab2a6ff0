/**
 * `loadHubModel` (runtime/sources/hub-model.ts) through the local hub stand-in, on the CPU backend
 * in Node: the same logits as the folder loaded from disk, for one file, shards, 16-bit weights
 * fetched in odd-sized chunks, and a server without Range support; a second load with a cache asks
 * only for ETags; a changed ETag, a truncated download, a full cache, a cancel, a gated repository
 * and a model too large for the device's limits behave as the module says.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../kernels/backend';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { loadModelFiles, type LlamaModel } from '../../runtime/index';
import { memoryHubCache } from '../../runtime/sources/hub-cache';
import { HubFetchError } from '../../runtime/sources/hub-fetch';
import { parseHubId } from '../../runtime/sources/hub-id';
import { HubMemoryError, loadHubModel, type HubLoadOptions } from '../../runtime/sources/hub-model';
import { dtypeCopy, shardedCopy } from '../helpers/hub-fixtures';
import { startHubServer, type HubServer } from '../helpers/hub-server';
import { trackingBackend } from './tracking-backend';

const root = path.resolve(import.meta.dirname, '../..');
const fixture = (name: string) => path.join(root, 'test/fixtures/arch', name);
const work = mkdtempSync(path.join(tmpdir(), 'sparsebook-hub-model-'));
const TOKEN = 'hf_browser_secret_never_shown_5678';
const TOKENS = [304, 1, 2, 3, 40, 41, 42, 100, 7, 8];

let hub: HubServer;
let backend: Backend;

beforeAll(async () => {
  hub = await startHubServer();
  hub.add('test/gpt2', { dir: fixture('gpt2') });
  hub.add('test/qwen3', { dir: fixture('qwen3') });
  hub.add('test/olmoe', { dir: fixture('olmoe') });
  hub.add('gated/gpt2', { dir: fixture('gpt2'), token: TOKEN });
  const sharded = shardedCopy(fixture('gpt2'), path.join(work, 'gpt2-sharded'), 3);
  hub.add('test/gpt2-sharded', { dir: sharded });
  hub.add('test/gpt2-f16', { dir: dtypeCopy(fixture('gpt2'), path.join(work, 'gpt2-f16'), 'F16') });
  hub.add('test/qwen3-bf16', { dir: dtypeCopy(fixture('qwen3'), path.join(work, 'qwen3-bf16'), 'BF16') });
  backend = createCpuBackend();
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

const load = (id: string, o: HubLoadOptions = {}, b: Backend = backend) =>
  loadHubModel(b, parseHubId(id), { endpoint: hub.endpoint, ...o });

/** The same model read from its folder on disk (the reference). */
function localModel(dir: string): LlamaModel {
  const files = readdirSync(dir)
    .filter((f) => /\.(json|safetensors)$/.test(f) && !f.startsWith('reference'))
    .map((f) => ({ name: f, bytes: readFileSync(path.join(dir, f)) }));
  return loadModelFiles(backend, files).model;
}

async function logits(model: LlamaModel, vocab: number): Promise<Float32Array> {
  const t = await model.forward(TOKENS.map((x) => x % vocab));
  const out = await backend.read(t);
  backend.dispose(t);
  return out;
}

async function expectSameModel(model: LlamaModel, dir: string): Promise<void> {
  const ref = localModel(dir);
  const v = ref.config.vocabSize;
  expect(model.config).toEqual(ref.config);
  expect(await logits(model, v)).toEqual(await logits(ref, v));
}

const weightGets = (repo: string) =>
  hub.log.filter((r) => r.repo === repo && r.method === 'GET' && r.file.endsWith('.safetensors'));

describe('loadHubModel through the hub stand-in', () => {
  it('loads one model.safetensors by Range requests, only the tensors it uses, into the same model as the folder', async () => {
    const got = await load('hf:test/gpt2');
    await expectSameModel(got.model, fixture('gpt2'));
    expect(got.id).toBe('hf:test/gpt2');
    expect(got.modelName).toBe('hf:test/gpt2 (model.safetensors)');
    expect(got.info.hfArchitecture).toBe('GPT2LMHeadModel');
    const gets = weightGets('test/gpt2');
    expect(gets.every((r) => r.status === 206 && r.range)).toBe(true);
    // Without a cache, the attention-mask buffers (h.*.attn.bias) are never fetched.
    const size = statSync(path.join(fixture('gpt2'), 'model.safetensors')).size;
    expect(gets.reduce((n, r) => n + r.bytes, 0)).toBe(size - 2 * 96 * 96 * 4);
    expect(got.notes).toEqual([]);
  });

  it('loads the shards of model.safetensors.index.json', async () => {
    const got = await load('hf:test/gpt2-sharded');
    await expectSameModel(got.model, fixture('gpt2'));
    expect(new Set(weightGets('test/gpt2-sharded').map((r) => r.file))).toEqual(
      new Set([1, 2, 3].map((i) => `model-0000${i}-of-00003.safetensors`)),
    );
    expect(got.modelName).toMatch(/model-00001-of-00003\.safetensors \+ .*00003-of-00003/);
  });

  it('keeps F16 and BF16 weights 16-bit, chunk by chunk, whatever the chunk boundaries', async () => {
    for (const [repo, name, dtype] of [
      ['test/gpt2-f16', 'gpt2-f16', 'F16'],
      ['test/qwen3-bf16', 'qwen3-bf16', 'BF16'],
    ] as const) {
      // 997 bytes: chunks end in the middle of 16-bit values.
      const got = await load(`hf:${repo}`, { chunkBytes: 997, parallel: 3 });
      await expectSameModel(got.model, path.join(work, name));
      expect(got.model.weightPrecision.stored).toEqual([dtype]);
      expect(got.model.weightPrecision.held).toEqual([dtype.toLowerCase()]);
      expect(got.model.weight(0, 'wq').dtype).toBe(dtype.toLowerCase());
    }
  });

  it('splits an embedding over the tensor limit into row blocks as it streams in, the same model', async () => {
    // wte [305, 32] F16: 19,520 bytes; a 7,000-byte limit makes 3 blocks.
    const got = await load('hf:test/gpt2-f16', { chunkBytes: 997, maxTensorBytes: 7000 });
    const blocks = (got.model as unknown as { tokEmbeddings: { parts: unknown[] } }).tokEmbeddings.parts;
    expect(blocks).toHaveLength(3);
    await expectSameModel(got.model, path.join(work, 'gpt2-f16'));
  });

  it('an MoE checkpoint arrives tensor by tensor into the same model', async () => {
    const got = await load('hf:test/olmoe', { chunkBytes: 4096 });
    await expectSameModel(got.model, fixture('olmoe'));
  });

  it('without Range support, reads each file as one stream and says so', async () => {
    hub.noRange = true;
    const got = await load('hf:test/gpt2-sharded', { cache: memoryHubCache() });
    await expectSameModel(got.model, fixture('gpt2'));
    expect(got.notes.join('\n')).toMatch(/does not support Range requests.*one streamed download/);
  });

  it('with a cache, a second load reads no weights from the hub (ETag checks only), and a new ETag re-fetches', async () => {
    const cache = memoryHubCache();
    const first = await load('hf:test/qwen3', { cache });
    expect(first.files.every((f) => !f.cached)).toBe(true);
    expect(first.downloadedBytes).toBe(first.weightBytes);
    // The cached copy is the file itself.
    const cached = [...cache.files.entries()].find(([k]) => k.includes('/model.safetensors#'))![1];
    expect(Buffer.from(cached).equals(readFileSync(path.join(fixture('qwen3'), 'model.safetensors')))).toBe(
      true,
    );

    hub.log.length = 0;
    const second = await load('hf:test/qwen3', { cache });
    await expectSameModel(second.model, fixture('qwen3'));
    expect(hub.log.filter((r) => r.method !== 'HEAD')).toEqual([]);
    expect(second.files.every((f) => f.cached)).toBe(true);
    expect(second.downloadedBytes).toBe(0);

    hub.bumpEtag('test/qwen3', 'model.safetensors');
    hub.log.length = 0;
    const third = await load('hf:test/qwen3', { cache });
    expect(weightGets('test/qwen3').length).toBeGreaterThan(0);
    expect(hub.log.filter((r) => r.method === 'GET' && !r.file.endsWith('.safetensors'))).toEqual([]);
    expect(third.files.find((f) => f.file === 'model.safetensors')?.cached).toBe(false);
    // The older version was dropped.
    expect([...cache.files.keys()].filter((k) => k.includes('/model.safetensors#'))).toHaveLength(1);
  });

  it('a truncated download fails naming the range and leaves nothing in the cache', async () => {
    const cache = memoryHubCache();
    hub.truncated.add('test/gpt2/model.safetensors');
    const b = trackingBackend(createCpuBackend());
    await expect(load('hf:test/gpt2', { cache }, b)).rejects.toThrow(/truncated download: bytes \d+-\d+/);
    expect([...cache.files.keys()].some((k) => k.includes('.safetensors#'))).toBe(false);
    expect(b.live.size).toBe(0);
  });

  it('a full cache is a note: the model loads, nothing half-written is kept', async () => {
    const cache = memoryHubCache({ quotaBytes: 100_000 });
    const got = await load('hf:test/gpt2', { cache });
    await expectSameModel(got.model, fixture('gpt2'));
    expect(got.notes.join('\n')).toMatch(
      /model\.safetensors was not cached: the browser's storage for this site is full/,
    );
    expect([...cache.files.keys()].some((k) => k.includes('.safetensors#'))).toBe(false);
    expect([...cache.files.keys()].some((k) => k.includes('config.json'))).toBe(true);
  });

  it('a cancel stops the transfer at once and leaves nothing on the backend or in the cache', async () => {
    hub.bytesPerSecond = 20_000;
    const cache = memoryHubCache();
    const b = trackingBackend(createCpuBackend());
    const controller = new AbortController();
    let aborted = 0;
    const p = load(
      'hf:test/gpt2-f16',
      {
        cache,
        signal: controller.signal,
        chunkBytes: 8192,
        onProgress: (pr) => {
          if (pr.phase === 'weights' && pr.done > 30_000 && !controller.signal.aborted) {
            controller.abort(new DOMException('cancelled', 'AbortError'));
            aborted = Date.now();
          }
        },
      },
      b,
    );
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - aborted).toBeLessThan(1000);
    expect(b.live.size).toBe(0);
    expect([...cache.files.keys()].some((k) => k.includes('.safetensors#'))).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    const gets = weightGets('test/gpt2-f16');
    expect(gets.some((r) => r.aborted)).toBe(true);
    const n = hub.log.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(hub.log.length).toBe(n);
  });

  it('a gated repository needs the token, which no message contains', async () => {
    const denied = await load('hf:gated/gpt2').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(HubFetchError);
    expect((denied as Error).message).toMatch(/gated or private; set an access token/);
    const wrong = await load('hf:gated/gpt2', { token: `${TOKEN}-wrong` }).catch((e: unknown) => e);
    expect((wrong as Error).message).toMatch(/access token was refused/);
    expect(JSON.stringify(wrong) + String(wrong) + (wrong as Error).stack).not.toContain(TOKEN);
    const got = await load('hf:gated/gpt2', { token: TOKEN });
    await expectSameModel(got.model, fixture('gpt2'));
    expect(hub.log.filter((r) => r.repo === 'gated/gpt2' && r.status < 400).every((r) => r.authorized)).toBe(
      true,
    );
    expect(JSON.stringify(got.files) + got.notes.join('') + got.modelName).not.toContain(TOKEN);
  });

  it('refuses a model over the device limits or the budget with the numbers, before downloading any tensor', async () => {
    const cache = memoryHubCache();
    const tooWide = await load('hf:test/gpt2', {
      cache,
      memory: { maxStorageBufferBindingSize: 10_000, maxBufferSize: 1 << 30 },
    }).catch((e: unknown) => e);
    expect([...cache.files.keys()].some((k) => k.includes('.safetensors#'))).toBe(false);
    expect(tooWide).toBeInstanceOf(HubMemoryError);
    // wte [305, 32] F32 (39,040 bytes) would be split by rows; wpe [96, 32] is not: 12,288 bytes, 2,288 over.
    expect((tooWide as Error).message).toMatch(
      /tensor "wpe\.weight" \[96, 32\] \(F32\) needs 12\.3 kB as f32, 2\.3 kB more than this GPU's maxStorageBufferBindingSize of 10\.0 kB.*Nothing was downloaded/,
    );
    const overBudget = await load('hf:test/gpt2', {
      memory: {
        budgetBytes: 100_000,
        budgetSource: 'a test budget',
        allocated: (n) => 2 ** Math.ceil(Math.log2(n)),
      },
    }).catch((e: unknown) => e);
    expect((overBudget as Error).message).toMatch(
      /the weights need .* on the backend \(.* parameters held as f32, buffers rounded up .*\), .* over the budget of 100\.0 kB \(a test budget\)/,
    );
    // Only the headers were read: the 8-byte length field and the header itself, twice.
    const gets = weightGets('test/gpt2');
    expect(gets).toHaveLength(4);
    expect(gets.filter((r) => r.range === 'bytes=0-7')).toHaveLength(2);
  });

  it('names what is missing: no repository, no tokenizer.json, no safetensors', async () => {
    await expect(load('hf:nobody/nothing')).rejects.toThrow(
      /HTTP 404: hf:nobody\/nothing has no config\.json/,
    );
    hub.add('test/no-tokenizer', { dir: fixture('gpt2'), files: ['config.json', 'model.safetensors'] });
    await expect(load('hf:test/no-tokenizer')).rejects.toThrow(/has no tokenizer\.json/);
    hub.add('test/no-weights', { dir: fixture('gpt2'), files: ['config.json', 'tokenizer.json'] });
    await expect(load('hf:test/no-weights')).rejects.toThrow(
      /neither model\.safetensors nor model\.safetensors\.index\.json/,
    );
  });
});
