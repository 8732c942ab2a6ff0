/**
 * The runtime Web Worker: loads a model onto a backend created here (WebGPU acquires its device
 * in the worker) and answers next-token, per-token loss, loss and generation requests. See
 * runtime-api.ts for the API and runtime-client.ts for the main-thread side.
 */
import { expose } from 'comlink';
import { installErrorTransfer } from './error-transfer';
import { createRuntimeApi } from './runtime-api';

installErrorTransfer();

const api = createRuntimeApi();

expose(api);

// For the soak test (Playwright evaluates it in this worker) and devtools: the memory counters.
(globalThis as { sparsebookMemory?: () => unknown }).sparsebookMemory = () => api.memory();

export type RuntimeApi = typeof api;
