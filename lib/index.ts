// informer-node: Informer long-sequence time-series forecasting for Node.js.
export * from './errors.js';
export * from './tensor.js';
export * from './safetensors.js';
export * from './config.js';
export { Informer } from './model.js';
export type { Batch, ForwardOptions, ForwardWithActivations, SampleDraw, SampleIndexInput } from './model.js';
export { backends, nativeInfo } from './native.js';
