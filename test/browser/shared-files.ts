import { inject } from 'vitest';

/** Fetch a file from ../shared through the Vite server that hosts the browser tests (`/@fs/…`). */
export async function fetchShared(relative: string): Promise<ArrayBuffer> {
  const dir = inject('sharedDir');
  const res = await fetch(`/@fs${dir}/${relative}`);
  if (!res.ok) throw new Error(`could not fetch ${dir}/${relative} from the test server: HTTP ${res.status}`);
  return res.arrayBuffer();
}

declare module 'vitest' {
  export interface ProvidedContext {
    sharedDir: string;
  }
}
