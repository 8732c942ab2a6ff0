/**
 * The browser's storage filling up in the middle of a cached download: the cache accepts the file
 * (`create`), then a `write` fails with the browser's own QuotaExceededError, as OPFS does once the
 * origin's quota is used up. Both hub loaders (a model: loadHubModel; a pretrained SAE's files:
 * readHubFile) finish the load from the network with a clear note, commit nothing of that file,
 * and the next load (with room again) downloads it again and gets the same bytes: nothing
 * half-written is ever used.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCpuBackend } from '../../kernels/cpu-backend';
import { memoryHubCache, type HubCache } from '../../runtime/sources/hub-cache';
import { readHubFile } from '../../runtime/sources/hub-files';
import { parseHubId } from '../../runtime/sources/hub-id';
import { loadHubModel } from '../../runtime/sources/hub-model';
import { archFolder } from '../helpers/arch-folders';
import { startHubServer, type HubServer } from '../helpers/hub-server';

const work = mkdtempSync(path.join(tmpdir(), 'sparsebook-hub-quota-'));
let hub: HubServer;

beforeAll(async () => {
  hub = await startHubServer();
  hub.add('test/gpt2', { dir: archFolder('gpt2') });
});
afterAll(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});

/**
 * A cache that runs out of room while writing: each file may take `room` bytes; a write past that
 * throws QuotaExceededError (a DOMException, as the browser throws it). `full = false` gives room.
 */
function fillingCache(room: number) {
  const inner = memoryHubCache();
  const state = { full: true };
  const cache: HubCache = {
    open: (key, size) => inner.open(key, size),
    async create(key, size) {
      const w = await inner.create(key, size);
      let written = 0;
      return {
        write(bytes, at) {
          written += bytes.byteLength;
          if (state.full && written > room) {
            return Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
          }
          return w.write(bytes, at);
        },
        commit: () => w.commit(),
        abort: () => w.abort(),
      };
    },
  };
  return { cache, files: inner.files, state };
}

const weights = (files: Map<string, Uint8Array>) =>
  [...files.keys()].filter((k) => k.includes('.safetensors#'));

describe('the storage quota running out during a cached download', () => {
  it('a model loads with a note, nothing of the weights is committed, and the next load fetches them again', async () => {
    const { cache, files, state } = fillingCache(1000);
    const backend = createCpuBackend();
    const id = parseHubId('hf:test/gpt2');
    const first = await loadHubModel(backend, id, { endpoint: hub.endpoint, cache });
    expect(first.notes.join('\n')).toMatch(
      /model\.safetensors was not cached: the browser's storage for this site is full; delete cached entries/,
    );
    expect(weights(files)).toEqual([]);
    first.model.dispose();

    state.full = false;
    hub.log.length = 0;
    const second = await loadHubModel(backend, id, { endpoint: hub.endpoint, cache });
    expect(second.downloadedBytes).toBe(second.weightBytes);
    expect(hub.log.some((q) => q.file === 'model.safetensors' && q.method === 'GET')).toBe(true);
    expect(weights(files)).toHaveLength(1);
    expect([...files.entries()].find(([k]) => k.includes('.safetensors#'))![1]).toEqual(
      new Uint8Array(readFileSync(path.join(archFolder('gpt2'), 'model.safetensors'))),
    );
    second.model.dispose();
  });

  it('an SAE file is read whole with a note, nothing is committed, and the next read downloads it again', async () => {
    const { cache, files, state } = fillingCache(10);
    const folder = parseHubId('hf:test/gpt2');
    const expected = new Uint8Array(readFileSync(path.join(archFolder('gpt2'), 'model.safetensors')));
    const notes: string[] = [];
    const first = await readHubFile(folder, 'model.safetensors', { endpoint: hub.endpoint, cache }, notes);
    expect(first.bytes).toEqual(expected);
    expect(notes.join('\n')).toMatch(
      /model\.safetensors was not cached: the browser's storage for this site is full/,
    );
    expect(weights(files)).toEqual([]);

    state.full = false;
    const again = await readHubFile(folder, 'model.safetensors', { endpoint: hub.endpoint, cache }, []);
    expect(again.file.cached).toBe(false);
    expect(again.bytes).toEqual(expected);
    const third = await readHubFile(folder, 'model.safetensors', { endpoint: hub.endpoint, cache }, []);
    expect(third.file.cached).toBe(true);
    expect(third.bytes).toEqual(expected);
  });
});
