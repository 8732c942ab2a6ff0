/**
 * Errors of the WebGPU backend other than device loss (see `DeviceLostError` in backend.ts). Plain
 * class declarations: the main thread may import them (the worker's error transfer rebuilds them).
 */

/** The WebGPU error filters the backend captures. */
export type GpuErrorFilter = 'validation' | 'out-of-memory' | 'internal';

/**
 * A WebGPU validation, out-of-memory or internal error caught in a batch of GPU work. The batch
 * did not run (or not correctly), so `read()` and `sync()` reject with this instead of returning
 * its numbers; the backend itself stays usable.
 */
export class GpuValidationError extends Error {
  override name = 'GpuValidationError';
  constructor(
    /** Which error scope caught it. */
    readonly filter: GpuErrorFilter,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A buffer or binding larger than the device allows (`maxBufferSize`,
 * `maxStorageBufferBindingSize`, …), refused before anything is created. `limit` names the limit,
 * `requested` and `allowed` are in its unit (bytes, bindings or workgroups).
 */
export class GpuLimitError extends RangeError {
  override name = 'GpuLimitError';
  constructor(
    readonly limit: string,
    readonly requested: number,
    readonly allowed: number,
    message: string,
  ) {
    super(message);
  }
}

/** A byte count for messages: exact bytes plus a readable size (e.g. `4294967300 bytes (4.0 GiB)`). */
export function formatBytes(bytes: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let unit = '';
  for (const u of units) {
    if (v < 1024) break;
    v /= 1024;
    unit = u;
  }
  return unit ? `${bytes} bytes (${v.toFixed(1)} ${unit})` : `${bytes} bytes`;
}
