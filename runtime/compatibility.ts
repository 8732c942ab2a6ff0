/** Checks that a tokenizer and a model belong together. */
import { CompatibilityError, formatCount } from './errors';
import type { Tokenizer } from './tokenizers/tokenizer';

/**
 * Throw unless the tokenizer fits the model's embedding.
 *
 * - llama2.c tokenizer: exactly the model's vocab_size entries (run.c would silently read only the
 *   first vocab_size entries of a larger file and produce garbage).
 * - Hugging Face tokenizer: the embedding may have more rows than the tokenizer has tokens (Qwen
 *   pads to 151,936) and special tokens may lie past it (Gemma 3's image token, id 262,144); the
 *   tokenizer's own vocabulary and the document token must fit. A text whose encoding produces a
 *   token past the embedding is refused when it is encoded (`HfTokenizer` with `embedding`), and
 *   the model's forward range-checks ids.
 *
 * @example
 * checkCompatible(ckpt.config, tok, { model: 'stories260K.bin', tokenizer: 'tok512.bin' });
 * @throws CompatibilityError naming the tokenizer file, both sizes and the model file.
 */
export function checkCompatible(
  model: { vocabSize: number },
  tokenizer: Pick<Tokenizer, 'kind' | 'vocabSize' | 'documentToken' | 'piece'> & { baseVocabSize?: number },
  files: { model: string; tokenizer: string },
): void {
  const mismatch = (problem: string): never => {
    throw new CompatibilityError(files.tokenizer, `${problem}; use the tokenizer the model was trained with`);
  };
  if (tokenizer.kind === 'llama2c') {
    if (model.vocabSize !== tokenizer.vocabSize) {
      mismatch(
        `tokenizer has ${formatCount(tokenizer.vocabSize)} tokens but model ${files.model} has vocab_size ${formatCount(model.vocabSize)}`,
      );
    }
    return;
  }
  const base = tokenizer.baseVocabSize ?? tokenizer.vocabSize;
  if (base > model.vocabSize) {
    mismatch(
      `tokenizer has ${formatCount(base)} vocabulary tokens but model ${files.model} has only ${formatCount(model.vocabSize)} embedding rows (vocab_size)`,
    );
  }
  const doc = tokenizer.documentToken;
  if (doc >= model.vocabSize) {
    mismatch(
      `the document token ${JSON.stringify(tokenizer.piece(doc))} (id ${formatCount(doc)}) lies past the ${formatCount(model.vocabSize)} embedding rows of model ${files.model}`,
    );
  }
}
