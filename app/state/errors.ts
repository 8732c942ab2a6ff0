/**
 * Turn anything thrown by the runtime client into what the UI shows. Duck-typed on purpose: the
 * UI imports no runtime or kernel values, and the client rebuilds the error classes with `name`,
 * `file` and `problem` intact.
 */

export interface ErrorView {
  /** The error's class name (`ModelFormatError`, `DeviceLostError`, …), for branching. */
  name?: string;
  /** Short heading: "Model file problem", "WebGPU unavailable", … */
  title: string;
  /** The full readable message (for an InputError: `file: problem`). */
  message: string;
  /** The offending file, when known. */
  file?: string;
  /** What is wrong with it, when known. */
  problem?: string;
}

const TITLES: Record<string, string> = {
  ModelFormatError: 'Model file problem',
  TokenizerError: 'Tokenizer problem',
  TextError: 'Text problem',
  CompatibilityError: 'Files do not fit together',
  InputError: 'Input problem',
  DeviceLostError: 'GPU device lost',
  GpuValidationError: 'GPU error',
  GpuLimitError: 'Too large for this GPU',
  WorkerCrashedError: 'Runtime worker crashed',
  WebGpuUnavailableError: 'WebGPU unavailable',
  RangeError: 'Invalid setting',
  FetchError: 'Download failed',
};

/** True for the AbortError a cancelled job rejects with. */
export function isAbort(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'AbortError';
}

export function describeError(e: unknown): ErrorView {
  if (typeof e !== 'object' || e === null) return { title: 'Error', message: String(e) };
  const { name, message, file, problem } = e as {
    name?: unknown;
    message?: unknown;
    file?: unknown;
    problem?: unknown;
  };
  const view: ErrorView = {
    name: typeof name === 'string' ? name : undefined,
    title: (typeof name === 'string' && TITLES[name]) || 'Error',
    message: typeof message === 'string' && message ? message : String(e),
  };
  if (typeof file === 'string' && typeof problem === 'string') {
    view.file = file;
    view.problem = problem;
  }
  return view;
}
