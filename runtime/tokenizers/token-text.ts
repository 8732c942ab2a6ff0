/** How a single token reads in context, for tables and token strips. */
import { tokenPiece, type Tokenizer } from './tokenizer';

/**
 * A token as text in context: special tokens as their piece (`<s>`, `<|endoftext|>`), a lone byte
 * of a multi-byte character as its `<0xNN>` piece, an embedding row past the vocabulary as
 * `<id N>`, anything else decoded after `prev`.
 */
export function tokenText(tokenizer: Tokenizer, prev: number, token: number): string {
  if (token >= tokenizer.vocabSize) return tokenPiece(tokenizer, token);
  // llama2.c tokenizers store BOS/EOS as "\n<s>\n" / "\n</s>\n".
  if (tokenizer.isSpecial(token)) return tokenizer.piece(token).trim();
  const text = tokenizer.decode(prev, token);
  return text.includes('\uFFFD') ? tokenizer.piece(token) : text;
}
