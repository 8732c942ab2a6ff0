/**
 * A single token named on the command line: `#ID` for a token id, or text that the model's
 * tokenizer encodes as exactly one token (without the document token), e.g. ` Mary`.
 */
import type { Tokenizer } from '../runtime/tokenizers/tokenizer';
import { singleToken } from '../runtime/tokenizers/single-token';
import { UsageError } from './args';

export function tokenArg(tokenizer: Tokenizer, value: string, flag: string): number {
  try {
    return singleToken(tokenizer, value, `--${flag}`);
  } catch (e) {
    // A tokenizer error (bad input text) is not a usage error; a token that is not one is.
    if (e instanceof RangeError) throw new UsageError(e.message);
    throw e;
  }
}
