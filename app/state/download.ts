/**
 * Offer data to the user as a file download (the notebook's Save, a cell's export): a blob URL
 * clicked through a temporary link, revoked shortly after.
 *
 * @example
 * downloadText('attention-best-config.json', json);
 * downloadBytes('pruned.bin', bytes);
 */
import { zipSync } from 'fflate';

export function downloadBlob(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function downloadText(name: string, text: string, type = 'application/json'): void {
  downloadBlob(name, new Blob([text], { type }));
}

export function downloadBytes(name: string, bytes: Uint8Array, type = 'application/octet-stream'): void {
  downloadBlob(name, new Blob([bytes as Uint8Array<ArrayBuffer>], { type }));
}

/** A zip of a folder's files, stored rather than deflated (safetensors barely compress). */
export function folderZip(files: Record<string, Uint8Array>): Uint8Array {
  return zipSync(files, { level: 0 });
}
