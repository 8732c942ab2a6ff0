/**
 * Charts: pure functions of (Arrow table, options) → element, built with d3; the notebook's
 * components mount what they return. Large matrices draw on canvas, the rest is SVG / HTML.
 * Options are checked, and a bad one throws a ChartOptionError that names it.
 *
 * @example
 * import { lineChart } from '../charts';
 * node.append(lineChart(table, { x: 'step', y: 'loss', series: 'run' }));
 */
export { heatmap, heatmapFromMatrix, matrixFromTable } from './heatmap';
export type { HeatmapChart, HeatmapOptions, HeatmapOverlay, HeatmapTableOptions } from './heatmap';
export type { View as HeatmapView } from './heatmap-view';
export { lineChart } from './line-chart';
export type { LineChartOptions, LineMarker } from './line-chart';
export { histogram } from './histogram';
export type { HistogramOptions } from './histogram';
export { barChart } from './bar-chart';
export type { BarChartOptions } from './bar-chart';
export { tokenStrip } from './token-strip';
export type { TokenStripOptions } from './token-strip';
export { colorScale, SCHEMES } from './color';
export type { ColorOptions, ColorScale } from './color';
export { colorLegend, swatches } from './legend';
export { ChartOptionError } from './validate';
export { nmMicroscope, nmMicroscopeLayout } from './nm-microscope';
export type { MicroscopeLayout, NmMicroscopeOptions } from './nm-microscope';
