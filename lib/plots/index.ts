// Plots stored as run artifacts: deterministic, font-independent SVGs rendered headless with Vega-Lite.
export { lossCurveSvg, lossCurveSpec, type LossEpoch, type LossCurveOptions } from './loss-curve.js';
export { forecastSvg, forecastSpec, type ForecastSeries, type ForecastWindow, type ForecastPlotOptions } from './forecast.js';
export { renderSvg, writeSvgAtomic, type PlotSize } from './render.js';
export { tuneScatterSvg, tuneScatterSpec, type TunePoint, type TunePlotOptions } from './tune.js';
