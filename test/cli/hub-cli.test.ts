/**
 * `--model hf:ORG/NAME` through a local hub stand-in (HF_ENDPOINT): the same loss as the local
 * folder, weights fetched by Range requests, a second run downloads no weights, shards through
 * model.safetensors.index.json, gated repositories with HF_TOKEN (never printed or cached), and
 * clear errors for 404, a changed ETag (re-fetched), a truncated download and an absurd header.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors } from '../../runtime/formats/safetensors';
import { writeSafetensors } from '../../runtime/formats/safetensors-write';
import { startHubServer, type HubServer } from '../helpers/hub-server';

const root = path.resolve(import.meta.dirname, '../..');
const bin = path.join(root, 'cli/bin.mjs');
const fixture = (name: string) => path.join(root, 'test/fixtures/arch', name);
const work = mkdtempSync(path.join(tmpdir(), 'sparsebook-hub-'));
const textFile = path.join(work, 'text.txt');
writeFileSync(
  textFile,
  'Once upon a time, a fox met a crow.<|endoftext|>The crow had cheese; the fox wanted it.',
);
const TOKEN = 'hf_secret_token_never_printed_1234';

let hub: HubServer;

function sparsebook(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const lastJson = (stdout: string) =>
  JSON.parse(stdout.trim().split('\n').at(-1)!) as { loss: number; tokens: number; model: string };

async function evalWith(model: string, env: Record<string, string>) {
  return sparsebook(['eval', '--model', model, '--text', textFile, '--json'], {
    HF_ENDPOINT: hub.endpoint,
    ...env,
  });
}

/** gpt2's model.safetensors split in two shards with an index, as save_pretrained writes them. */
function shardedCopy(): string {
  const dir = path.join(work, 'sharded');
  cpSync(fixture('gpt2'), dir, { recursive: true });
  const st = parseSafetensors(readFileSync(path.join(dir, 'model.safetensors')), 'model.safetensors');
  const names = [...st.tensors.keys()].sort();
  const half = Math.ceil(names.length / 2);
  const weightMap: Record<string, string> = {};
  [names.slice(0, half), names.slice(half)].forEach((part, i) => {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    const tensors = part.map((n) => {
      const info = st.info(n);
      weightMap[n] = file;
      return info.dtype === 'U8'
        ? { name: n, dtype: info.dtype, shape: info.shape, data: st.int32(n) }
        : { name: n, dtype: info.dtype, shape: info.shape, data: st.float32(n) };
    });
    writeFileSync(path.join(dir, file), writeSafetensors(tensors));
  });
  writeFileSync(
    path.join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: weightMap }),
  );
  return dir;
}

beforeAll(async () => {
  hub = await startHubServer();
  hub.add('test/gpt2', { dir: fixture('gpt2') });
  hub.add('test/qwen3', { dir: fixture('qwen3') });
  hub.add('gated/gemma3', { dir: fixture('gemma3'), token: TOKEN });
  const sharded = shardedCopy();
  hub.add('test/gpt2-sharded', {
    dir: sharded,
    files: readdirSync(sharded).filter((f) => f !== 'model.safetensors'),
  });
});
afterAll(() => hub.close());

describe('sparsebook --model hf:… through the hub stand-in', () => {
  it('gives the local folder loss, fetches weights by Range, and a second run downloads no weights', async () => {
    const cache = path.join(work, 'cache-a');
    const local = await sparsebook(['eval', '--model', fixture('gpt2'), '--text', textFile, '--json'], {});
    expect(local.code, local.stderr).toBe(0);
    const first = await evalWith('hf:test/gpt2', { SPARSEBOOK_CACHE: cache });
    expect(first.code, first.stderr).toBe(0);
    expect(lastJson(first.stdout).loss).toBe(lastJson(local.stdout).loss);
    expect(lastJson(first.stdout).model).toBe('hf:test/gpt2');
    const weights = hub.log.filter((r) => r.repo === 'test/gpt2' && r.file === 'model.safetensors');
    const ranged = weights.filter((r) => r.method === 'GET');
    expect(ranged.length).toBeGreaterThanOrEqual(3); // length field, header, data
    expect(ranged.every((r) => r.range !== undefined && r.status === 206)).toBe(true);
    const size = statSync(path.join(fixture('gpt2'), 'model.safetensors')).size;
    expect(ranged.reduce((n, r) => n + r.bytes, 0)).toBe(size);

    hub.log.length = 0;
    const second = await evalWith('hf:test/gpt2', { SPARSEBOOK_CACHE: cache });
    expect(second.code, second.stderr).toBe(0);
    expect(lastJson(second.stdout).loss).toBe(lastJson(local.stdout).loss);
    expect(hub.log.filter((r) => r.method === 'GET')).toEqual([]);
    expect(second.stderr).toMatch(/model\.safetensors: in the cache/);
  });

  it('a changed ETag re-fetches the file', async () => {
    const cache = path.join(work, 'cache-b');
    expect((await evalWith('hf:test/qwen3', { SPARSEBOOK_CACHE: cache })).code).toBe(0);
    hub.bumpEtag('test/qwen3', 'model.safetensors');
    hub.log.length = 0;
    const again = await evalWith('hf:test/qwen3', { SPARSEBOOK_CACHE: cache });
    expect(again.code, again.stderr).toBe(0);
    const gets = hub.log.filter((r) => r.method === 'GET').map((r) => r.file);
    expect(gets).toContain('model.safetensors');
    expect(gets).not.toContain('config.json');
  });

  it('loads a sharded checkpoint through model.safetensors.index.json', async () => {
    const r = await evalWith('hf:test/gpt2-sharded', { SPARSEBOOK_CACHE: path.join(work, 'cache-c') });
    expect(r.code, r.stderr).toBe(0);
    const local = await sparsebook(['eval', '--model', fixture('gpt2'), '--text', textFile, '--json'], {});
    expect(lastJson(r.stdout).loss).toBeCloseTo(lastJson(local.stdout).loss, 12);
    const files = new Set(
      hub.log.filter((l) => l.repo === 'test/gpt2-sharded' && l.method === 'GET').map((l) => l.file),
    );
    expect([...files].sort()).toEqual([
      'config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
  });

  it('gated: refused without HF_TOKEN, loaded with it; the token is never printed or cached', async () => {
    const cache = path.join(work, 'cache-d');
    const refused = await evalWith('hf:gated/gemma3', { SPARSEBOOK_CACHE: cache, HF_TOKEN: '' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /config\.json: HTTP 401: the model is gated or private; set an access token \(HF_TOKEN/,
    );
    hub.log.length = 0;
    const ok = await evalWith('hf:gated/gemma3', { SPARSEBOOK_CACHE: cache, HF_TOKEN: TOKEN });
    expect(ok.code, ok.stderr).toBe(0);
    expect(hub.log.every((r) => r.authorized)).toBe(true);
    expect(ok.stdout + ok.stderr + refused.stdout + refused.stderr).not.toContain(TOKEN);
    const cached = readdirSync(cache, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    for (const e of cached)
      expect(readFileSync(path.join(e.parentPath, e.name)).includes(TOKEN), e.name).toBe(false);
  });

  it('a missing repository or file is a clear error naming the URL', async () => {
    const r = await evalWith('hf:test/nope', { SPARSEBOOK_CACHE: path.join(work, 'cache-e') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /HubFetchError: http:\/\/127\.0\.0\.1:\d+\/test\/nope\/resolve\/main\/config\.json: HTTP 404/,
    );
  });

  it('a truncated download fails clearly and leaves nothing a later load would use', async () => {
    const cache = path.join(work, 'cache-g');
    hub.truncated.add('test/gpt2/model.safetensors');
    try {
      const r = await evalWith('hf:test/gpt2', { SPARSEBOOK_CACHE: cache });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(
        /model\.safetensors: truncated download: bytes \d+-\d+ came back as \d+ of \d+ bytes/,
      );
      const left = readdirSync(cache, { recursive: true }) as string[];
      expect(left.filter((f) => f.endsWith('model.safetensors') || f.endsWith('.partial'))).toEqual([]);
    } finally {
      hub.truncated.clear();
    }
    const again = await evalWith('hf:test/gpt2', { SPARSEBOOK_CACHE: cache });
    expect(again.code, again.stderr).toBe(0);
  });

  it('a safetensors header over 100 MB is refused before anything else is fetched', async () => {
    const dir = path.join(work, 'absurd');
    cpSync(fixture('gpt2'), dir, { recursive: true });
    const bytes = new Uint8Array(64);
    new DataView(bytes.buffer).setBigUint64(0, 200_000_000n, true);
    writeFileSync(path.join(dir, 'model.safetensors'), bytes);
    hub.add('test/absurd', { dir });
    hub.log.length = 0;
    const r = await evalWith('hf:test/absurd', { SPARSEBOOK_CACHE: path.join(work, 'cache-h') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /model\.safetensors: invalid safetensors header length 200,000,000 bytes: more than the 100,000,000-byte limit/,
    );
    const ranges = hub.log
      .filter((l) => l.file === 'model.safetensors' && l.method === 'GET')
      .map((l) => l.range);
    expect(ranges).toEqual(['bytes=0-7']);
  });

  it('a server without Range support falls back to one streamed download, with a note', async () => {
    hub.noRange = true;
    try {
      const r = await evalWith('hf:test/gpt2', { SPARSEBOOK_CACHE: path.join(work, 'cache-f') });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(
        /does not support Range requests; model\.safetensors comes as one streamed download/,
      );
    } finally {
      hub.noRange = false;
    }
  });
});
