/**
 * Errors that keep their class across the worker boundary. Comlink's default handler turns every
 * thrown Error into a plain `Error` (name and message copied, class and extra fields lost); this
 * one serialises `{name, message, stack, file, problem, kind, reason, filter, limit, requested,
 * allowed}` and rebuilds the project's
 * error classes on the other side, so the UI can branch on `instanceof InputError` or
 * `DeviceLostError` and show `file` + `problem`.
 *
 * Install it on BOTH ends (the worker module and the client do, on import). The imports below are
 * plain class declarations (no compute), so the main thread may load them.
 */
import { transferHandlers, type TransferHandler } from 'comlink';
import { DeviceLostError, WebGpuUnavailableError } from '../kernels/backend';
import { GpuLimitError, GpuValidationError, type GpuErrorFilter } from '../kernels/gpu-errors';
import {
  CompatibilityError,
  InputError,
  ModelFormatError,
  TextError,
  TokenizerError,
  type InputErrorKind,
} from '../runtime/errors';
import { HubMemoryError } from '../runtime/sources/hub-errors';
import { HubFetchError } from '../runtime/sources/hub-fetch';
import { HubIdError } from '../runtime/sources/hub-id';

/** The wire form of an error. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  /** InputError: the offending file (or text source). */
  file?: string;
  /** InputError: what is wrong with it. */
  problem?: string;
  kind?: InputErrorKind;
  /** DeviceLostError: the GPUDeviceLostInfo reason. */
  reason?: string;
  /** GpuValidationError: the error scope that caught it. */
  filter?: GpuErrorFilter;
  /** GpuLimitError: the device limit, the size asked for and the size allowed. */
  limit?: string;
  requested?: number;
  allowed?: number;
  /** HubFetchError: the HTTP status (0 for a network error). */
  status?: number;
}

type Thrown = { isError: true; value: SerializedError } | { isError: false; value: unknown };

const INPUT_ERRORS: Record<string, new (file: string, problem: string) => InputError> = {
  ModelFormatError,
  TokenizerError,
  TextError,
  CompatibilityError,
  HubMemoryError,
  HubIdError,
};

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  RangeError,
  TypeError,
  SyntaxError,
  ReferenceError,
};

/** Flatten an error into its wire form (own fields only: no prototype, no functions). */
export function serializeError(e: Error): SerializedError {
  const out: SerializedError = { name: e.name, message: e.message, stack: e.stack };
  if (e instanceof InputError) Object.assign(out, { file: e.file, problem: e.problem, kind: e.kind });
  if (e instanceof HubFetchError) out.status = e.status;
  if (e instanceof DeviceLostError) out.reason = e.reason;
  if (e instanceof GpuValidationError) out.filter = e.filter;
  if (e instanceof GpuLimitError)
    Object.assign(out, { limit: e.limit, requested: e.requested, allowed: e.allowed });
  return out;
}

/** Rebuild an error of the right class from its wire form. */
export function deserializeError(s: SerializedError): Error {
  let e: Error;
  const InputClass = INPUT_ERRORS[s.name];
  if (InputClass && s.file !== undefined && s.problem !== undefined) e = new InputClass(s.file, s.problem);
  else if (s.name === 'HubFetchError' && s.file !== undefined && s.problem !== undefined) {
    e = new HubFetchError(s.file, s.problem, s.status ?? 0);
  } else if (s.name === 'InputError' && s.file !== undefined && s.problem !== undefined) {
    e = new InputError(s.file, s.problem, s.kind ?? 'model-format');
  } else if (s.name === 'DeviceLostError') e = new DeviceLostError(s.reason ?? 'unknown', s.message);
  else if (s.name === 'WebGpuUnavailableError') e = new WebGpuUnavailableError(s.message);
  else if (s.name === 'GpuValidationError') e = new GpuValidationError(s.filter ?? 'validation', s.message);
  else if (s.name === 'GpuLimitError') {
    e = new GpuLimitError(s.limit ?? 'unknown', s.requested ?? NaN, s.allowed ?? NaN, s.message);
  } else if (s.name === 'AbortError') e = new DOMException(s.message, 'AbortError');
  else {
    const Builtin = BUILTIN_ERRORS[s.name] ?? Error;
    e = new Builtin(s.message);
    if (e.name !== s.name) e.name = s.name;
  }
  // Keep the worker's stack: it says where the error really happened. (DOMException's is read-only.)
  if (s.stack && !(e instanceof DOMException)) e.stack = s.stack;
  return e;
}

function isErrorLike(v: unknown): v is Error {
  return v instanceof Error || (typeof DOMException !== 'undefined' && v instanceof DOMException);
}

let installed = false;

/** Replace comlink's `throw` handler (idempotent). */
export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const original = transferHandlers.get('throw') as TransferHandler<{ value: unknown }, Thrown>;
  const handler: TransferHandler<{ value: unknown }, Thrown> = {
    // Comlink wraps a thrown value as {value, [its private marker]}; reuse its test for the marker.
    canHandle: (v): v is { value: unknown } => original.canHandle(v),
    serialize({ value }) {
      const wire: Thrown = isErrorLike(value)
        ? { isError: true, value: serializeError(value) }
        : { isError: false, value };
      return [wire, []];
    },
    deserialize(wire) {
      throw wire.isError ? deserializeError(wire.value) : wire.value;
    },
  };
  transferHandlers.set('throw', handler as TransferHandler<unknown, unknown>);
}
