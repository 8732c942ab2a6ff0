/**
 * The registry of cell kinds, one explicit list. A new analysis adds its folder (kind and view;
 * views.ts finds the view by the folder) and one line here: see README.md.
 */
import type { CellKind } from './cell-kind';
import { activationPatchingKind } from './activation-patching/activation-patching-kind';
import { activationsKind } from './activations/activations-kind';
import { attentionMaskKind } from './attention-mask/attention-mask-kind';
import { attentionProbesKind } from './attention-probes/attention-probes-kind';
import { attentionSweepKind } from './attention-sweep/attention-sweep-kind';
import { generateKind } from './generate/generate-kind';
import { logitAttributionKind } from './logit-attribution/logit-attribution-kind';
import { logitLensKind } from './logit-lens/logit-lens-kind';
import { lossKind } from './loss/loss-kind';
import { markdownKind } from './markdown/markdown-kind';
import { modelViewKind } from './model-view/model-view-kind';
import { modelKind } from './model/model-kind';
import { moeRoutingKind } from './moe-routing/moe-routing-kind';
import { moeLabKind } from './moe-lab/moe-lab-kind';
import { moeBalanceKind } from './moe-balance/moe-balance-kind';
import { moeInterventionsKind } from './moe-interventions/moe-interventions-kind';
import { moeLogKind } from './moe-log/moe-log-kind';
import { pruningScheduleKind } from './pruning-schedule/pruning-schedule-kind';
import { pruningSweepKind } from './pruning-sweep/pruning-sweep-kind';
import { saeKind } from './sae/sae-kind';
import { saeFeaturesKind } from './sae-features/sae-features-kind';
import { textKind } from './text/text-kind';

export const CELL_KINDS: readonly CellKind[] = Object.freeze([
  markdownKind,
  modelKind,
  textKind,
  modelViewKind,
  lossKind,
  generateKind,
  attentionProbesKind,
  attentionMaskKind,
  attentionSweepKind,
  pruningSweepKind,
  pruningScheduleKind,
  saeKind,
  saeFeaturesKind,
  moeRoutingKind,
  moeLabKind,
  moeLogKind,
  moeBalanceKind,
  moeInterventionsKind,
  logitLensKind,
  activationPatchingKind,
  logitAttributionKind,
  activationsKind,
]);

const BY_KIND = new Map(CELL_KINDS.map((k) => [k.kind, k]));

export function kindOf(kind: string): CellKind | undefined {
  return BY_KIND.get(kind);
}

export const KNOWN_KINDS: ReadonlySet<string> = new Set(BY_KIND.keys());
