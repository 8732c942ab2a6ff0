/**
 * Which heatmap cell a pointer event is over: the heatmap's readout carries the hovered row and
 * column (app/charts/heatmap-canvas.ts), so a click or move on the host section reads them back.
 * Shared by the cells whose heatmaps pick a token, a head or a layer.
 */
export function heatmapCellAt(e: Event): { row: number; col: number } | undefined {
  const host = e.currentTarget as HTMLElement | null;
  const out = host?.querySelector<HTMLElement>('.sb-readout');
  if (!out?.dataset.row || !out.dataset.col || !(e.target instanceof HTMLCanvasElement)) return undefined;
  return { row: Number(out.dataset.row), col: Number(out.dataset.col) };
}
