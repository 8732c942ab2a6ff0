/**
 * The MoE lab's compute-free catalogue: the routing cell's options. The page imports this
 * (eslint/layers.js); the routing statistics run in the worker.
 */
import { option, optionSchema } from '../options';

/** Most tokens per domain a routing request may route (bounds the job's length). */
export const MAX_MOE_TOKENS = 1 << 16;

/** Tokens routed per domain; the layer and view shown are view options. */
export const ROUTING_OPTIONS = optionSchema({
  maxTokens: option.labelled('tokens per domain', option.integer(2048, { min: 1, max: MAX_MOE_TOKENS })),
  layer: option.integer(0, { min: 0 }),
  view: option.string('usage'),
});
