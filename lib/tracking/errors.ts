// The tracking store's own error classes. Bad user input (an invalid key, a too-long value, a param
// re-logged with another value) is a ValueError and an unusable store URI a ConfigError, both from
// lib/errors.ts; TrackingError covers the store's state: not found, already exists, lock timeout,
// a run or experiment in the wrong lifecycle stage. On a tracking server its subclasses say what
// the server answered, that it could not be reached, or that a run's artifacts are out of reach.
import { InformerError } from '../errors.js';

/** A tracking-store operation could not be done in the store's current state. */
export class TrackingError extends InformerError {
  override readonly code: string = 'ERR_INFORMER_TRACKING';
}

/**
 * An MLflow tracking server answered a request with an error: `errorCode` is MLflow's own code
 * (`RESOURCE_DOES_NOT_EXIST`, `INVALID_PARAMETER_VALUE`, ...), `status` the HTTP status.
 */
export class TrackingServerError extends TrackingError {
  override readonly code = 'ERR_INFORMER_TRACKING_SERVER';
  constructor(
    message: string,
    readonly errorCode: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The tracking server could not be reached (connection refused, reset, timed out) after every retry. */
export class TrackingUnreachableError extends TrackingError {
  override readonly code = 'ERR_INFORMER_TRACKING_UNREACHABLE';
}

/** A run's artifacts live where informer-node cannot write or read them (s3://, gs://, ...): the URI is named. */
export class ArtifactStoreError extends TrackingError {
  override readonly code = 'ERR_INFORMER_ARTIFACT_STORE';
}

// `err.name` is the class name (as for Error's own subclasses), not enumerable.
for (const cls of [TrackingError, TrackingServerError, TrackingUnreachableError, ArtifactStoreError]) {
  Object.defineProperty(cls.prototype, 'name', { value: cls.name, writable: true, enumerable: false, configurable: true });
}
