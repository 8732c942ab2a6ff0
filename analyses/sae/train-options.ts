/**
 * Training options that only some SAE kinds read, refused for the others (never accepted and
 * silently ignored): `k` is TopK's latents and ITDA's atoms per token, the L1 / L0 coefficient is
 * the ReLU and JumpReLU sparsity penalty, and the residual threshold is ITDA's.
 */
import type { TrainKind } from './train';

/** Which kinds read each option. */
const READERS = {
  k: ['topk', 'itda'],
  l1Coefficient: ['relu', 'jumprelu'],
  itdaThreshold: ['itda'],
} as const satisfies Record<string, readonly TrainKind[]>;

export type KindOption = keyof typeof READERS;

/**
 * @example
 * checkKindOptions('topk', { l1Coefficient: 5 });
 * // Error: l1Coefficient is read by relu and jumprelu SAEs only, not topk
 * checkKindOptions('relu', { k: 16 }, { k: '--k' }); // Error: --k is read by topk and itda SAEs only, not relu
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
    throw new Error(`${names[option] ?? option} is read by ${readers.join(' and ')} SAEs only, not ${kind}`);
  }
}
