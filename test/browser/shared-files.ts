import { inject } from 'vitest';

/** Fetch a file from ../shared through the Vite server that hosts the browser tests (`/@fs/…`). */
export async function fetchShared(relative: string): Promise<ArrayBuffer> {
  const dir = inject('sharedDir');
  const res = await fetch(`/@fs${dir}/${relative}`);
  if (!res.ok) throw new Error(`could not fetch ${dir}/${relative} from the test server: HTTP ${res.status}`);
  return res.arrayBuffer();
}

/** Fetch a file of this repository (fixtures) from the Vite server that hosts the browser tests. */
export async function fetchRepoFile(relative: string): Promise<Uint8Array> {
  const res = await fetch(`/${relative}`);
  if (!res.ok) throw new Error(`could not fetch ${relative} from the test server: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

declare module 'vitest' {
  export interface ProvidedContext {
    sharedDir: string;
  }
}
