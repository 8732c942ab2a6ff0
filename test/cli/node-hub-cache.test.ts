/**
 * The CLI's hub cache as the headless runtime uses it (cli/node-hub-cache.ts): files keyed by
 * repository, revision, path and ETag in the layout `sparsebook eval --model hf:…` writes, so each
 * reads what the other downloaded; a file is visible only after `commit`; an aborted write leaves
 * nothing; a changed ETag or size is a miss.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveHubModel } from '../../cli/hub-cache';
import { nodeHubCache } from '../../cli/node-hub-cache';
import { parseHubId } from '../../runtime/sources/hub-id';
import { remoteFileInfo } from '../../runtime/sources/hub-fetch';
import { archFolder } from '../helpers/arch-folders';
import { startHubServer, type HubServer } from '../helpers/hub-server';

const root = mkdtempSync(path.join(tmpdir(), 'sparsebook-node-hub-cache-'));
let hub: HubServer;
beforeAll(async () => {
  hub = await startHubServer();
  hub.add('test/gpt2', { dir: archFolder('gpt2') });
});
afterAll(async () => {
  await hub.close();
  rmSync(root, { recursive: true, force: true });
});

const key = { repo: 'org/name', revision: 'main', file: 'layer_1/sae.safetensors', etag: 'abc' };

describe('nodeHubCache', () => {
  it('commits a file under its key; a miss for another ETag or size; an abort leaves nothing', async () => {
    const cache = nodeHubCache(root);
    expect(await cache.open(key, 6)).toBeNull();
    const w = await cache.create(key, 6);
    await w.write(new Uint8Array([4, 5, 6]), 3);
    await w.write(new Uint8Array([1, 2, 3]), 0);
    expect(await cache.open(key, 6)).toBeNull(); // not committed yet
    await w.commit();
    const r = (await cache.open(key, 6))!;
    expect(await r.read(0, 6)).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6]));
    expect(await r.read(2, 4)).toEqual(new Uint8Array([3, 4]));
    expect(await cache.open({ ...key, etag: 'new' }, 6)).toBeNull();
    expect(await cache.open(key, 7)).toBeNull();
    await expect(w.write(new Uint8Array(8), 0)).rejects.toThrow(/write past its 6 bytes/);

    // A new version, abandoned half-way: the committed one stays, no partial file is left.
    const half = await cache.create({ ...key, etag: 'new' }, 4);
    await half.write(new Uint8Array([9, 9]), 0);
    await half.abort();
    const dir = path.join(root, 'hub', 'org', 'name', 'main', 'layer_1');
    expect(readdirSync(dir).sort()).toEqual(['sae.safetensors', 'sae.safetensors.etag']);
    expect(await (await cache.open(key, 6))!.read(0, 6)).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6]));
  });

  it('reads what `sparsebook … --model hf:` downloaded into the same folder', async () => {
    const cacheDir = path.join(root, 'shared');
    const id = parseHubId('hf:test/gpt2');
    await resolveHubModel(id, { endpoint: hub.endpoint, cacheDir });
    const info = await remoteFileInfo(`${hub.endpoint}/test/gpt2/resolve/main/model.safetensors`);
    const r = await nodeHubCache(cacheDir).open(
      { repo: 'test/gpt2', revision: 'main', file: 'model.safetensors', etag: info.etag },
      info.size,
    );
    expect(r).not.toBeNull();
    expect((await r!.read(0, 8)).byteLength).toBe(8);
  });
});
