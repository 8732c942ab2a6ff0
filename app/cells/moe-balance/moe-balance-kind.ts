/**
 * MoE balancing cell: auxiliary-loss-free balancing (DeepSeek) simulated on the router
 * probabilities of a text's routing — a per-expert bias added when choosing experts, updated
 * after every step of tokens by u·sign(mean load − load) — then the loss with the final biases
 * applied in the forward pass (workers/moe-lab-jobs.ts `moeBalanceJob`).
 */
import { MOE_BALANCE_OPTIONS } from '../../../analyses/moe/catalogue';
import type { MoeBalanceSummary } from '../../../workers/moe-lab-jobs';
import { defineCellKind } from '../cell-kind';
import { MODEL_INPUT } from '../model/model-kind';
import { TEXT_INPUT } from '../text/text-kind';

export const moeBalanceKind = defineCellKind({
  kind: 'moe-balance',
  title: 'MoE balancing',
  description:
    'Auxiliary-loss-free load balancing simulated on the router: load over steps, assignments moved, loss',
  params: MOE_BALANCE_OPTIONS,
  viewParams: ['layer'],
  inputs: [MODEL_INPUT, TEXT_INPUT],
  async run({ params, inputs, signal, services, progress }) {
    const r = await services.runtime.moeBalance(
      {
        text: inputs.text.params.text,
        fileName: inputs.text.params.name || 'text',
        maxTokens: params.maxTokens,
        rate: params.rate,
        stepTokens: params.stepTokens,
        epochs: params.epochs,
      },
      {
        signal,
        model: inputs.model.meta.key,
        onProgress: (p) =>
          progress(p.total ? p.done / p.total : undefined, 'Routing, simulating, measuring the loss…'),
      },
    );
    const meta: MoeBalanceSummary = r.summary;
    return { meta, tables: r.tables };
  },
});
