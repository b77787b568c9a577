// Hyper-parameter search: random search with asynchronous successive halving, tracked runs.
export { tune, DEFAULT_SEARCH_SPACE, type TuneOptions, type TuneEvent, type TuneResult, type TrialSummary } from './tune.js';
export { rungEpochs, nextAshaJob, type AshaTrial, type AshaJob } from './asha.js';
export {
  parseSearchSpace,
  readSearchSpace,
  parseSpecString,
  sampleTrial,
  TRAINING_KEYS,
  type SearchSpace,
  type SearchSpaceSpec,
  type Distribution,
  type TrialParams,
  type ParamValue,
} from './space.js';
