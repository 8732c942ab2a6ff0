// Types of scripts/wasm-build.mjs (imported by vite.config.ts, vitest.config.ts and tests).
/** Files whose change makes the build stale (relative to root). */
export function wasmInputs(root?: string): string[];
/** Whether the output exists and is newer than every input. */
export function wasmBuildFresh(root?: string): boolean;
/** Compile both variants and write kernels/wasm/build/kernels-wasm.ts. */
export function buildWasm(root?: string): { output: string; bytes: { shared: number; plain: number } };
/** Build unless the output is fresh; returns whether it built. */
export function ensureWasmBuild(root?: string): boolean;
