/** Checks that a tokenizer and a model belong together. */
import { CompatibilityError, formatCount } from './errors';

/**
 * Throw unless the tokenizer's vocabulary has exactly the model's size. (run.c would silently read
 * only the first vocab_size entries of a larger tokenizer file and produce garbage.)
 *
 * @example
 * checkCompatible(ckpt.config, tok, { model: 'stories260K.bin', tokenizer: 'tok512.bin' });
 * @throws CompatibilityError naming the tokenizer file, both sizes and the model file.
 */
export function checkCompatible(
  model: { vocabSize: number },
  tokenizer: { vocabSize: number },
  files: { model: string; tokenizer: string },
): void {
  if (model.vocabSize !== tokenizer.vocabSize) {
    throw new CompatibilityError(
      files.tokenizer,
      `tokenizer has ${formatCount(tokenizer.vocabSize)} tokens but model ${files.model} has vocab_size ${formatCount(model.vocabSize)}; use the tokenizer the model was trained with`,
    );
  }
}
