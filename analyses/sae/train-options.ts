/**
 * Training options that only some SAE kinds read, refused for the others (never accepted and
 * silently ignored): `k` is TopK's latents (BatchTopK's on average) and ITDA's atoms per token, the L1 / L0 coefficient is
 * the ReLU and JumpReLU sparsity penalty, and the residual threshold is ITDA's.
 */
import type { TrainKind } from './train';

/** Which kinds read each option. */
const READERS = {
  k: ['topk', 'batchtopk', 'itda'],
  l1Coefficient: ['relu', 'jumprelu'],
  itdaThreshold: ['itda'],
} as const satisfies Record<string, readonly TrainKind[]>;

export type KindOption = keyof typeof READERS;

/**
 * @example
 * checkKindOptions('topk', { l1Coefficient: 5 });
 * // Error: l1Coefficient is read by relu and jumprelu SAEs only, not topk
 * checkKindOptions('relu', { k: 16 }, { k: '--k' }); // Error: --k is read by topk, batchtopk and itda SAEs only, not relu
 * @throws Error naming the option (as `names` calls it) and the kinds that read it.
 */
export function checkKindOptions(
  kind: TrainKind,
  given: Partial<Record<KindOption, unknown>>,
  names: Partial<Record<KindOption, string>> = {},
): void {
  for (const option of Object.keys(READERS) as KindOption[]) {
    const readers: readonly TrainKind[] = READERS[option];
    if (given[option] === undefined || readers.includes(kind)) continue;
    const who =
      readers.length > 1 ? `${readers.slice(0, -1).join(', ')} and ${readers.at(-1)!}` : readers[0]!;
    throw new Error(`${names[option] ?? option} is read by ${who} SAEs only, not ${kind}`);
  }
}
