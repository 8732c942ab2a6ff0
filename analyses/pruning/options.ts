/**
 * Option combinations a pruning run cannot honour, refused up front with a message that names
 * them (never accepted and silently ignored):
 *
 * - global magnitude ranking compares raw |w| across blocks: it is defined for magnitude scores and
 *   unstructured masks only (Wanda's and SparseGPT's scores depend on each layer's inputs, and
 *   N:M / channel / head masks are chosen within a group, a row or a head);
 * - a per-block (sensitivity) allocation moves each block's share of removed weights: N:M fixes
 *   every block at 1 − N/M, and channels / heads remove whole units, so only unstructured
 *   pruning can take it; and global ranking already decides each block's share, so the two exclude
 *   each other.
 */
import { patternName, type PruningPattern } from './patterns';
import type { PruningMethod } from './prune-block';

export interface PruningOptionCheck {
  methods: readonly PruningMethod[];
  patterns: readonly PruningPattern[];
  /** Whether a per-block allocation (sensitivity) is asked for. */
  perBlockAllocation?: boolean;
  magnitudeScope?: 'layer' | 'global';
  /** How the caller names the two options in messages (the CLI: '--global', '--allocation sensitivity'). */
  names?: { global: string; allocation: string };
}

/**
 * @example
 * checkPruningOptions({ methods: ['wanda'], patterns: [{ kind: 'unstructured' }], magnitudeScope: 'global' });
 * // Error: global magnitude ranking is for method magnitude only; got wanda
 * @throws Error naming the option and the methods or patterns it cannot apply to.
 */
export function checkPruningOptions(o: PruningOptionCheck): void {
  const { global, allocation } = o.names ?? {
    global: 'global magnitude ranking',
    allocation: 'sensitivity allocation',
  };
  const notUnstructured = o.patterns.filter((p) => p.kind !== 'unstructured').map(patternName);
  if (o.magnitudeScope === 'global') {
    if (o.perBlockAllocation) {
      throw new Error(
        `${global} and ${allocation} both decide each block's share of removed weights: use one of them`,
      );
    }
    const others = o.methods.filter((m) => m !== 'magnitude');
    if (others.length) {
      throw new Error(
        `${global} is for method magnitude only (Wanda and SparseGPT score weights by each layer's inputs); got ${others.join(', ')}`,
      );
    }
    if (notUnstructured.length) {
      throw new Error(
        `${global} is for the unstructured pattern only (N:M, channel and head masks are chosen within a group, row or head); got ${notUnstructured.join(', ')}`,
      );
    }
  }
  if (o.perBlockAllocation && notUnstructured.length) {
    throw new Error(
      `${allocation} is for the unstructured pattern only (N:M fixes every block at 1 − N/M; channels and heads remove whole units); got ${notUnstructured.join(', ')}`,
    );
  }
}
