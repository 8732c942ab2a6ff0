/**
 * A single token named by a user: `#ID` for a token id, or text that the model's tokenizer
 * encodes as exactly one token (without the document token), e.g. ` Mary`. Shared by the CLI's
 * `--answer`/`--wrong` flags and the patching and attribution cells.
 */
import type { Tokenizer } from './tokenizer';

/**
 * The token id `value` names; throws a RangeError that starts with `label` when it names none or
 * several.
 *
 * @example
 * singleToken(tokenizer, ' she', 'answer'); // 1041 (SentencePiece: "▁she")
 * singleToken(tokenizer, '#7', 'wrong'); // 7
 */
export function singleToken(tokenizer: Tokenizer, value: string, label: string): number {
  const id = /^#(\d+)$/.exec(value);
  if (id) {
    const n = Number(id[1]);
    if (n >= tokenizer.vocabSize)
      throw new RangeError(`${label} ${value}: token id outside the vocabulary [0, ${tokenizer.vocabSize})`);
    return n;
  }
  const ids = tokenizer.encode(value, { bos: false, source: label });
  // SentencePiece tokenizers add the leading space themselves (the dummy prefix): " she" is then
  // "▁" + "▁she", and "she" the one token meant.
  if (ids.length !== 1 && value.startsWith(' ')) {
    const again = tokenizer.encode(value.slice(1), { bos: false, source: label });
    if (again.length === 1) return again[0]!;
  }
  if (ids.length !== 1) {
    const pieces = Array.from(ids, (t) => JSON.stringify(tokenizer.piece(t))).join(' ');
    throw new RangeError(
      `${label} ${JSON.stringify(value)} is ${ids.length} tokens (${pieces || 'none'}), not one; give a single token's text or #ID`,
    );
  }
  return ids[0]!;
}
