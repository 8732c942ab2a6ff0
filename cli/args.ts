import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parse flags strictly: unknown flags and missing values are usage errors, not silent defaults. */
export function parseFlags<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${usage}`);
  }
}

export function required(value: string | boolean | undefined, flag: string, usage: string): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`missing --${flag}\n\n${usage}`);
  return value;
}

export function numberFlag(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got '${value}'`);
  return n;
}

export function backendFlag(value: string | undefined): 'cpu' | 'webgpu' {
  const v = value ?? 'cpu';
  if (v !== 'cpu' && v !== 'webgpu') throw new UsageError(`--backend must be cpu or webgpu, got '${v}'`);
  return v;
}
