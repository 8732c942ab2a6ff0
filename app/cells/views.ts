/** Each cell kind's view component (the kind definitions themselves are in kinds.ts). */
import type { Component } from 'svelte';
import type { CellDoc } from '../notebook/document';
import type { CellContext } from '../state/cell-context';
import AttentionMaskCell from './attention-mask/AttentionMaskCell.svelte';
import AttentionProbesCell from './attention-probes/AttentionProbesCell.svelte';
import AttentionSweepCell from './attention-sweep/AttentionSweepCell.svelte';
import GenerateCell from './generate/GenerateCell.svelte';
import LossCell from './loss/LossCell.svelte';
import MarkdownCell from './markdown/MarkdownCell.svelte';
import ModelCell from './model/ModelCell.svelte';
import ModelViewCell from './model-view/ModelViewCell.svelte';
import MoeRoutingCell from './moe-routing/MoeRoutingCell.svelte';
import PruningScheduleCell from './pruning-schedule/PruningScheduleCell.svelte';
import PruningSweepCell from './pruning-sweep/PruningSweepCell.svelte';
import SaeCell from './sae/SaeCell.svelte';
import SaeFeaturesCell from './sae-features/SaeFeaturesCell.svelte';
import TextCell from './text/TextCell.svelte';

export type CellView = Component<{ nb: CellContext; cell: CellDoc }>;

export const CELL_VIEWS: Readonly<Record<string, CellView>> = Object.freeze({
  markdown: MarkdownCell,
  model: ModelCell,
  text: TextCell,
  'model-view': ModelViewCell,
  loss: LossCell,
  generate: GenerateCell,
  'attention-probes': AttentionProbesCell,
  'attention-mask': AttentionMaskCell,
  'attention-sweep': AttentionSweepCell,
  'pruning-sweep': PruningSweepCell,
  'pruning-schedule': PruningScheduleCell,
  sae: SaeCell,
  'sae-features': SaeFeaturesCell,
  'moe-routing': MoeRoutingCell,
});
