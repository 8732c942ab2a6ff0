/**
 * Which format a set of files (a dropped folder, a CLI `--model DIR`) holds, decided from the file
 * names alone so a caller reads only the files it needs:
 *
 * - HF: `config.json` + `model.safetensors` (or its shards `model-00001-of-00002.safetensors`, …)
 *   + `tokenizer.json` (with `tokenizer_config.json` when present), or + `tokenizer.bin` (llama2.c
 *   tokenizer format). Other `.safetensors` files, such as a `reference.safetensors` of expected
 *   logits, are not weights and are left alone.
 * - llama2.c: one checkpoint `.bin` + one tokenizer `.bin` (the one whose name contains "tok").
 *
 * An incomplete or ambiguous set is an error that lists what was found and what is missing.
 */
import { formatCount, ModelFormatError } from '../errors';

/** Which files make up the model, by name as given. */
export type ModelFilePlan =
  | { format: 'llama2c'; model: string; tokenizer: string }
  | {
      format: 'hf';
      config: string;
      weights: string[];
      /** `tokenizer.json` (Hugging Face) or a llama2.c `tokenizer.bin`. */
      tokenizer: string;
      /** `tokenizer_config.json` beside a `tokenizer.json`, when the folder has one. */
      tokenizerConfig?: string;
    };

const HF_SET = 'config.json + model.safetensors + tokenizer.json (HF folder; or tokenizer.bin)';
const LLAMA2C_SET = 'a llama2.c checkpoint .bin + its tokenizer .bin (name containing "tok")';

/**
 * Decide the format and the files to read.
 *
 * @example
 * planModelFiles(['config.json', 'model.safetensors', 'tokenizer.bin', 'reference.safetensors']);
 * // { format: 'hf', config: 'config.json', weights: ['model.safetensors'], tokenizer: 'tokenizer.bin' }
 * @throws ModelFormatError naming `source` (default: the file list) when the set is incomplete or
 *   ambiguous.
 */
export function planModelFiles(names: readonly string[], source?: string): ModelFilePlan {
  const where = source ?? (names.length ? list(names) : '(no files)');
  const fail = (problem: string): never => {
    throw new ModelFormatError(where, problem);
  };
  const base = (n: string) => n.split(/[\\/]/).pop()!;
  const found = `found: ${list(names.map(base)) || 'nothing'}`;
  const configs = names.filter((n) => base(n) === 'config.json');
  const safetensors = names.filter((n) => n.endsWith('.safetensors'));
  const bins = names.filter((n) => n.endsWith('.bin'));
  const tokenizers = bins.filter((n) => /tok/i.test(base(n)));
  const checkpoints = bins.filter((n) => !/tok/i.test(base(n)));

  if (configs.length > 1) fail(`ambiguous model files: ${configs.length} config.json files; ${found}`);
  if (configs.length === 1) {
    if (checkpoints.length > 0) {
      fail(
        `ambiguous model files: config.json (HF) beside the .bin file${checkpoints.length > 1 ? 's' : ''} ${list(checkpoints.map(base))} (llama2.c or PyTorch); keep one model per folder. Only HF safetensors are read; ${found}`,
      );
    }
    const weights = pickWeights(safetensors, base, fail, found);
    const named = (n: string) => names.filter((f) => base(f) === n);
    const hfTokenizers = named('tokenizer.json');
    if (hfTokenizers.length > 1) {
      fail(`ambiguous model files: ${hfTokenizers.length} tokenizer.json files; ${found}`);
    }
    if (hfTokenizers.length === 1) {
      const tokenizerConfigs = named('tokenizer_config.json');
      if (tokenizerConfigs.length > 1) {
        fail(`ambiguous model files: ${tokenizerConfigs.length} tokenizer_config.json files; ${found}`);
      }
      const plan: ModelFilePlan = { format: 'hf', config: configs[0]!, weights, tokenizer: hfTokenizers[0]! };
      return tokenizerConfigs.length === 1 ? { ...plan, tokenizerConfig: tokenizerConfigs[0]! } : plan;
    }
    const exact = tokenizers.filter((n) => base(n) === 'tokenizer.bin');
    const tokenizer = exact.length === 1 ? exact[0]! : tokenizers.length === 1 ? tokenizers[0]! : undefined;
    if (!tokenizer) {
      const spm = names.map(base).filter((n) => n === 'tokenizer.model');
      const hint = spm.length
        ? ' (a SentencePiece tokenizer.model alone is not read: add the tokenizer.json saved beside it)'
        : '';
      fail(
        tokenizers.length > 1
          ? `ambiguous model files: several tokenizers (${list(tokenizers.map(base))}) and none named tokenizer.bin; ${found}`
          : `incomplete HF model: tokenizer.json is missing${hint}; expected ${HF_SET}; ${found}`,
      );
    }
    return { format: 'hf', config: configs[0]!, weights, tokenizer: tokenizer! };
  }

  if (checkpoints.length === 0 && safetensors.length > 0) {
    fail(
      `incomplete HF model: config.json is missing beside ${list(safetensors.map(base))}; expected ${HF_SET}; ${found}`,
    );
  }
  if (checkpoints.length === 1 && tokenizers.length === 1) {
    return { format: 'llama2c', model: checkpoints[0]!, tokenizer: tokenizers[0]! };
  }
  if (checkpoints.length > 1) {
    fail(
      `ambiguous model files: several checkpoints (${list(checkpoints.map(base))}); expected ${LLAMA2C_SET}; ${found}`,
    );
  }
  if (tokenizers.length > 1) {
    fail(
      `ambiguous model files: several tokenizers (${list(tokenizers.map(base))}); expected ${LLAMA2C_SET}; ${found}`,
    );
  }
  if (checkpoints.length === 1)
    fail(`incomplete llama2.c model: no tokenizer .bin (a name containing "tok"); ${found}`);
  if (tokenizers.length === 1)
    fail(`incomplete llama2.c model: a tokenizer but no checkpoint .bin; ${found}`);
  return fail(`no model files: expected ${HF_SET}, or ${LLAMA2C_SET}; ${found}`);
}

/**
 * The names of the files a plan reads, in reading order.
 *
 * @example
 * modelPlanFiles(planModelFiles(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']));
 * // ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']
 */
export function modelPlanFiles(plan: ModelFilePlan): string[] {
  if (plan.format === 'llama2c') return [plan.model, plan.tokenizer];
  const extra = plan.tokenizerConfig === undefined ? [] : [plan.tokenizerConfig];
  return [plan.config, ...plan.weights, plan.tokenizer, ...extra];
}

/** How many file names an error lists before "and N more" (a dropped folder may hold thousands). */
const LIST_FILES = 12;

function list(names: readonly string[]): string {
  if (names.length <= LIST_FILES) return names.join(', ');
  return `${names.slice(0, LIST_FILES).join(', ')} and ${formatCount(names.length - LIST_FILES)} more`;
}

/** How many missing shards an error names. */
const LIST_MISSING = 5;

/** `model.safetensors`, else all shards `model-XXXXX-of-NNNNN.safetensors`, else the only one. */
function pickWeights(
  files: readonly string[],
  base: (n: string) => string,
  fail: (p: string) => never,
  found: string,
): string[] {
  const single = files.filter((n) => base(n) === 'model.safetensors');
  if (single.length === 1) return single;
  const shardRe = /^model-(\d+)-of-(\d+)\.safetensors$/;
  const shards = files.filter((n) => shardRe.test(base(n))).sort((a, b) => (base(a) < base(b) ? -1 : 1));
  if (shards.length > 0) {
    const parts = shards.map((n) => shardRe.exec(base(n))!.slice(1).map(Number) as [number, number]);
    const total = parts[0]![1];
    const other = parts.find(([, t]) => t !== total);
    if (other) fail(`inconsistent HF shards: some say ${total} shards, others ${other[1]}; ${found}`);
    const bad = parts.find(([i]) => i < 1 || i > total);
    if (bad) fail(`invalid HF shard name: shard ${bad[0]} of ${total}; ${found}`);
    const have = new Set(parts.map(([i]) => i));
    if (have.size !== parts.length) {
      const twice = parts.find(([i], k) => parts.findIndex(([j]) => j === i) !== k)![0];
      const same = shards.filter((_, k) => parts[k]![0] === twice).map(base);
      fail(
        `ambiguous model files: shard ${twice} of ${total} is given more than once (${list(same)}); ${found}`,
      );
    }
    if (have.size !== total) {
      // Name at most a few missing shards: `total` comes from a file name and may be absurd.
      const lost: number[] = [];
      for (let i = 1; i <= total && lost.length < LIST_MISSING; i++) if (!have.has(i)) lost.push(i);
      const more = total - have.size - lost.length;
      fail(
        `incomplete HF model: ${total} weight shards expected, ${total - have.size} missing (${lost.join(', ')}${more > 0 ? ` and ${more} more` : ''}); ${found}`,
      );
    }
    return shards;
  }
  if (files.length === 1) return [...files];
  if (files.length === 0)
    fail(`incomplete HF model: model.safetensors is missing; expected ${HF_SET}; ${found}`);
  return fail(
    `ambiguous model files: several .safetensors files (${list(files.map(base))}) and none named model.safetensors; ${found}`,
  );
}
