/**
 * The browser's hub loader (loadHubModel, the runtime worker's path) refuses a safetensors header
 * over the 100 MB limit from its 8-byte length field alone: no other byte of the file is asked
 * for, no tensor reaches the backend and nothing is cached. (The CLI's cache and the SAE loader
 * are tested for the same in test/cli/hub-cli.test.ts and test/workers/sae-hub.test.ts.)
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { memoryHubCache } from '../../runtime/sources/hub-cache';
import { parseHubId } from '../../runtime/sources/hub-id';
import { loadHubModel } from '../../runtime/sources/hub-model';
import { archFolder } from '../helpers/arch-folders';
import { startHubServer, type HubServer } from '../helpers/hub-server';
import { trackingBackend } from './tracking-backend';

const work = mkdtempSync(path.join(tmpdir(), 'sparsebook-hub-header-'));
let hub: HubServer;

beforeAll(async () => {
  hub = await startHubServer();
  const dir = path.join(work, 'absurd');
  cpSync(archFolder('gpt2'), dir, { recursive: true });
  const bytes = new Uint8Array(4096);
  new DataView(bytes.buffer).setBigUint64(0, 200_000_000n, true);
  writeFileSync(path.join(dir, 'model.safetensors'), bytes);
  hub.add('test/absurd', { dir });
});
afterAll(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});

describe('loadHubModel and a safetensors header over 100 MB', () => {
  it('is refused from the length field, before anything else of the file is fetched', async () => {
    const cache = memoryHubCache();
    const backend = trackingBackend(createCpuBackend());
    await expect(
      loadHubModel(backend, parseHubId('hf:test/absurd'), { endpoint: hub.endpoint, cache }),
    ).rejects.toThrow(
      /model\.safetensors: invalid safetensors header length 200,000,000 bytes: more than the 100,000,000-byte limit/,
    );
    const gets = hub.log.filter((q) => q.file === 'model.safetensors' && q.method === 'GET');
    expect(gets.map((q) => q.range)).toEqual(['bytes=0-7']);
    expect([...cache.files.keys()].filter((k) => k.includes('model.safetensors'))).toEqual([]);
    expect(backend.live.size).toBe(0);
  });
});
