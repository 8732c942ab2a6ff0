/**
 * A single token named on the command line: `#ID` for a token id, or text that the model's
 * tokenizer encodes as exactly one token (without the document token), e.g. ` Mary`.
 */
import type { Tokenizer } from '../runtime/tokenizers/tokenizer';
import { UsageError } from './args';

export function tokenArg(tokenizer: Tokenizer, value: string, flag: string): number {
  const id = /^#(\d+)$/.exec(value);
  if (id) {
    const n = Number(id[1]);
    if (n >= tokenizer.vocabSize)
      throw new UsageError(`--${flag} ${value}: token id outside the vocabulary [0, ${tokenizer.vocabSize})`);
    return n;
  }
  const ids = tokenizer.encode(value, { bos: false, source: `--${flag}` });
  // SentencePiece tokenizers add the leading space themselves (the dummy prefix): " she" is then
  // "▁" + "▁she", and "she" the one token meant.
  if (ids.length !== 1 && value.startsWith(' ')) {
    const again = tokenizer.encode(value.slice(1), { bos: false, source: `--${flag}` });
    if (again.length === 1) return again[0]!;
  }
  if (ids.length !== 1) {
    const pieces = Array.from(ids, (t) => JSON.stringify(tokenizer.piece(t))).join(' ');
    throw new UsageError(
      `--${flag} ${JSON.stringify(value)} is ${ids.length} tokens (${pieces || 'none'}), not one; give a single token's text or #ID`,
    );
  }
  return ids[0]!;
}
