/**
 * The real runtime client and API joined by a MessageChannel in Node (CPU backend), with
 * stories260K loaded: what the worker tests use to go through comlink as the app does.
 */
import { expose } from 'comlink';
import { createRuntimeApi } from '../../workers/runtime-api';
import { createRuntimeClient, type RuntimeClient, type WorkerLike } from '../../workers/runtime-client';
import { readShared, STORIES260K, TOK512 } from './shared-paths';

/**
 * The client over a MessageChannel, initialised on the CPU backend, nothing loaded.
 *
 * @example
 * const client = await localClient();
 * try { await client.load({ key: 'moe', files }); } finally { client.dispose(); }
 */
export async function localClient(): Promise<RuntimeClient> {
  const { port1, port2 } = new MessageChannel();
  expose(createRuntimeApi(), port1);
  const client = createRuntimeClient({
    createWorker: () => Object.assign(port2, { terminate: () => port2.close() }) as unknown as WorkerLike,
  });
  await client.init('cpu');
  return client;
}

/**
 * `localClient` with stories260K loaded.
 *
 * @example
 * const client = await storiesClient();
 * try { await client.loss({ text }); } finally { client.dispose(); }
 */
export async function storiesClient(): Promise<RuntimeClient> {
  const client = await localClient();
  await client.load({
    files: [
      { name: 'stories260K.bin', bytes: readShared(STORIES260K) },
      { name: 'tok512.bin', bytes: readShared(TOK512) },
    ],
  });
  return client;
}
