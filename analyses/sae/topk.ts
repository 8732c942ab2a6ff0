/**
 * Partial selection of the k largest values of a row, shared by the TopK activation and the AuxK
 * loss. k is small next to d_sae, so a sorted buffer of k with an early threshold test beats a full
 * sort: most values fail the single comparison against the current k-th largest.
 */

export { topKIndices } from '../../kernels/topk.cpu';
