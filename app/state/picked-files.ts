/**
 * Files the user picked, kept by content hash: in IndexedDB (so a reload finds them) and in memory
 * for this page (used when IndexedDB is unavailable, e.g. a report opened from file://).
 */
import type { PickedFile } from '../cells/model/model-kind';
import { hashBytes } from '../notebook/hash';
import type { NotebookStore } from '../notebook/store';

export class PickedFiles {
  // Not reactive state: only cells' runs read it.
  private readonly blobs = new Map<string, Uint8Array>();

  constructor(private readonly store: () => NotebookStore | undefined) {}

  /** Keep `files` and return how params name them. */
  async keep(files: readonly File[]): Promise<PickedFile[]> {
    const picked: PickedFile[] = [];
    for (const f of files) {
      const bytes = new Uint8Array(await f.arrayBuffer());
      const hash = await hashBytes(bytes);
      this.blobs.set(hash, bytes);
      await this.store()?.putBlob(hash, f.name, bytes);
      picked.push({ name: f.name, hash, size: f.size });
    }
    return picked;
  }

  /** The bytes picked under `hash`, or undefined when this browser does not have them. */
  async get(hash: string): Promise<Uint8Array | undefined> {
    return this.blobs.get(hash) ?? (await this.store()?.getBlob(hash))?.bytes;
  }
}
