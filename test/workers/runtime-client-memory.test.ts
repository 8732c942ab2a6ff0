/**
 * The runtime client keeps nothing per finished job. Every job races the worker's death; a race on
 * a promise that settles only when the worker dies left one reaction (and its closures) behind per
 * job for the page's lifetime, found by the soak (test/e2e/soak.test.ts). Here: 20,000 jobs through
 * the real client and API over a MessageChannel, heap measured after forced GCs. And the API's
 * read-only memory counters (workers/memory-stats.ts) that the soak reads in the worker.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { createRuntimeApi } from '../../workers/runtime-api';
import { localClient } from '../helpers/local-runtime';
import { readShared, STORIES260K, TOK512 } from '../helpers/shared-paths';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
  }
  return process.memoryUsage().heapUsed;
}

describe('runtime client memory', () => {
  it('retains nothing per finished job', async () => {
    const client = await localClient();
    try {
      const jobs = 20_000;
      for (let i = 0; i < 100; i++) await client.unload('absent');
      const before = await heapAfterGc();
      for (let i = 0; i < jobs; i++) await client.unload('absent');
      const grown = (await heapAfterGc()) - before;
      console.log(`[client memory] ${jobs} jobs: heap ${grown >= 0 ? '+' : ''}${grown} bytes`);
      // Measured: within ±1 MB of nothing with the fix; +6.8 MB (338 bytes a job) with the race.
      expect(grown).toBeLessThan(3_000_000);
    } finally {
      client.dispose();
    }
  }, 120_000);

  it("counts the worker's models and jobs (no GPU pool on the CPU backend)", async () => {
    const api = createRuntimeApi();
    expect(api.memory()).toEqual({ backend: null, models: 0, saes: 0, pruningSweeps: 0, jobs: 0, gpu: null });
    await api.init('cpu');
    const files = [
      { name: 'stories260K.bin', bytes: readShared(STORIES260K) },
      { name: 'tok512.bin', bytes: readShared(TOK512) },
    ];
    await api.load({ id: 1, request: { key: 'm', files } });
    expect(api.memory()).toMatchObject({ backend: 'cpu', models: 1, jobs: 0, gpu: null });
    api.unload('m');
    expect(api.memory().models).toBe(0);
  });
});
