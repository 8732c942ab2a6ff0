/**
 * Errors for bad input: a model file, tokenizer file or text the user supplied. Every message
 * starts with the offending file's name so a notebook cell can show it as is, e.g.
 * `stories260K.bin: truncated checkpoint: header declares 264,128 weights (1,056,540 bytes) but the
 * file has 1,000 bytes`.
 */

/** What kind of input was wrong; lets a UI pick an icon or a hint without parsing messages. */
export type InputErrorKind = 'model-format' | 'tokenizer' | 'text' | 'compatibility';

/** Bad user input. `file` names the file (or text source), `problem` says what is wrong with it. */
export class InputError extends Error {
  override name = 'InputError';
  constructor(
    readonly file: string,
    readonly problem: string,
    readonly kind: InputErrorKind,
  ) {
    super(`${file}: ${problem}`);
  }
}

/** A model checkpoint that cannot be parsed (truncated, wrong magic, impossible header). */
export class ModelFormatError extends InputError {
  override name = 'ModelFormatError';
  constructor(file: string, problem: string) {
    super(file, problem, 'model-format');
  }
}

/** A tokenizer file that cannot be parsed, or text the tokenizer cannot encode. */
export class TokenizerError extends InputError {
  override name = 'TokenizerError';
  constructor(file: string, problem: string) {
    super(file, problem, 'tokenizer');
  }
}

/** Text input that is unusable: invalid UTF-8, or nothing but whitespace. */
export class TextError extends InputError {
  override name = 'TextError';
  constructor(file: string, problem: string) {
    super(file, problem, 'text');
  }
}

/** Two inputs that are each fine but do not fit together (tokenizer vocab ≠ model vocab). */
export class CompatibilityError extends InputError {
  override name = 'CompatibilityError';
  constructor(file: string, problem: string) {
    super(file, problem, 'compatibility');
  }
}

/**
 * A computation produced NaN or ±Infinity where a number was expected (a loss, a logit): an error,
 * never a result. Not an InputError: the inputs parsed, the numbers did not hold.
 */
export class NonFiniteError extends Error {
  override name = 'NonFiniteError';
}

/** `1234567` → `"1,234,567"`: sizes in messages are read by people. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
