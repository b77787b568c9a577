// The tracking store's own error class. Bad user input (an invalid key, a too-long value, a param
// re-logged with another value) is a ValueError and an unusable store URI a ConfigError, both from
// lib/errors.ts; TrackingError covers the store's state: not found, already exists, lock timeout,
// a run or experiment in the wrong lifecycle stage.
import { InformerError } from '../errors.js';

/** A tracking-store operation could not be done in the store's current state. */
export class TrackingError extends InformerError {
  override readonly code = 'ERR_INFORMER_TRACKING';
}

Object.defineProperty(TrackingError.prototype, 'name', {
  value: 'TrackingError',
  writable: true,
  enumerable: false,
  configurable: true,
});
