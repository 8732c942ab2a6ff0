import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Backend } from '../kernels/backend';
import { createCpuBackend } from '../kernels/cpu-backend';
import { createWebGpuBackend } from '../kernels/webgpu-backend';
import { loadLlama2c } from '../runtime';
import { decodeUtf8Strict } from '../runtime/text';
import { nodeGpu } from './node-gpu';

export async function createBackend(kind: 'cpu' | 'webgpu'): Promise<Backend> {
  return kind === 'cpu' ? createCpuBackend() : createWebGpuBackend(await nodeGpu());
}

async function readBytes(file: string): Promise<ArrayBuffer> {
  try {
    const b = await readFile(file);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(`${file}: cannot read file (${code ?? (e as Error).message})`);
  }
}

/** Read a text file as strict UTF-8 (invalid bytes are an error naming the file). */
export async function readText(file: string): Promise<string> {
  return decodeUtf8Strict(new Uint8Array(await readBytes(file)), path.basename(file));
}

/** Load a llama2.c checkpoint and tokenizer onto a backend. */
export async function loadModel(backendKind: 'cpu' | 'webgpu', modelFile: string, tokenizerFile: string) {
  const [modelBytes, tokBytes] = await Promise.all([readBytes(modelFile), readBytes(tokenizerFile)]);
  const backend = await createBackend(backendKind);
  const loaded = loadLlama2c(
    backend,
    modelBytes,
    path.basename(modelFile),
    tokBytes,
    path.basename(tokenizerFile),
  );
  return { backend, ...(await loaded) };
}
