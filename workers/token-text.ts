/** How a single token reads in context, for tables and token strips. */
import { BOS, EOS, type Llama2cTokenizer } from '../runtime/index';

/**
 * A token as text in context: BOS/EOS as their piece (`<s>`), a lone byte of a multi-byte
 * character as its `<0xNN>` piece, anything else decoded after `prev`.
 */
export function tokenText(tokenizer: Llama2cTokenizer, prev: number, token: number): string {
  // llama2.c tokenizers store BOS/EOS as "\n<s>\n" / "\n</s>\n".
  if (token === BOS || token === EOS) return tokenizer.piece(token).trim();
  const text = tokenizer.decode(prev, token);
  return text.includes('\uFFFD') ? tokenizer.piece(token) : text;
}
