// Typed errors of informer-node. Every error the library throws on purpose is an InformerError
// subclass with a stable `code` (switch on `err.code`, or use `instanceof`). The native addon raises
// the same classes: lib/native.ts registers them by status code (native/core/status.h) at load time.

/** Options accepted by every InformerError constructor. */
export interface InformerErrorOptions {
  /** The underlying error, kept as `err.cause`. */
  cause?: unknown;
}

/** Stable error codes, one per error class. */
export const ErrorCodes = Object.freeze({
  INFORMER: 'ERR_INFORMER',
  CONFIG: 'ERR_INFORMER_CONFIG',
  SHAPE: 'ERR_INFORMER_SHAPE',
  VALUE: 'ERR_INFORMER_VALUE',
  FORMAT: 'ERR_INFORMER_FORMAT',
  STATE_DICT: 'ERR_INFORMER_STATE_DICT',
  DISPOSED: 'ERR_INFORMER_DISPOSED',
  NATIVE: 'ERR_INFORMER_NATIVE',
} as const);

export type InformerErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** Base class of every error thrown by informer-node. */
export class InformerError extends Error {
  /** Stable machine-readable code, e.g. 'ERR_INFORMER_CONFIG'. */
  readonly code: string = ErrorCodes.INFORMER;

  constructor(message: string, options?: InformerErrorOptions) {
    // Only pass `cause` through when it was given, so `'cause' in err` stays false otherwise.
    super(message, options !== undefined && 'cause' in options ? { cause: options.cause } : undefined);
  }
}

/** Bad hyper-parameters (e.g. dModel not divisible by nHeads, unknown freq). */
export class ConfigError extends InformerError {
  override readonly code = ErrorCodes.CONFIG;
}

/** A tensor has the wrong shape, length or dtype. */
export class ShapeError extends InformerError {
  override readonly code = ErrorCodes.SHAPE;
}

/** A value is not acceptable: NaN/Inf in an input, an index out of range, ... */
export class ValueError extends InformerError {
  override readonly code = ErrorCodes.VALUE;
}

/** A file (safetensors, model folder, ...) is corrupt, truncated or not in the expected format. */
export class FormatError extends InformerError {
  override readonly code = ErrorCodes.FORMAT;
}

/** A state dict has missing, unexpected or misshaped tensors. */
export class StateDictError extends InformerError {
  override readonly code = ErrorCodes.STATE_DICT;
}

/** A method was called on a model (or other native object) after dispose(). */
export class DisposedError extends InformerError {
  override readonly code = ErrorCodes.DISPOSED;
}

/** Options of NativeError: the native status code it came from, when there is one. */
export interface NativeErrorOptions extends InformerErrorOptions {
  /** The native status code (5 out of memory, 6 internal, or an unknown code). */
  status?: number;
}

/** An internal failure of the native core (out of memory, internal error, unknown status). */
export class NativeError extends InformerError {
  override readonly code = ErrorCodes.NATIVE;
  /** The native status code, when the error came from the core. */
  readonly status: number | undefined;

  constructor(message: string, options?: NativeErrorOptions) {
    super(message, options);
    this.status = options?.status;
  }
}

/** The native core ran out of memory (a config or batch too large for this machine). */
export class OutOfMemoryError extends NativeError {
  constructor(message: string, options?: InformerErrorOptions) {
    super(message, { ...options, status: NativeStatus.OUT_OF_MEMORY });
  }
}

/** An internal failure of the native core (a bug, or a device error such as a lost GPU). */
export class InternalError extends NativeError {
  constructor(message: string, options?: InformerErrorOptions) {
    super(message, { ...options, status: NativeStatus.INTERNAL });
  }
}

// `name` lives on each prototype (non-enumerable, like Error.prototype.name), so it survives
// minification and does not clutter util.inspect / JSON output.
for (const cls of [
  InformerError,
  ConfigError,
  ShapeError,
  ValueError,
  FormatError,
  StateDictError,
  DisposedError,
  NativeError,
  OutOfMemoryError,
  InternalError,
]) {
  Object.defineProperty(cls.prototype, 'name', {
    value: cls.name,
    writable: true,
    enumerable: false,
    configurable: true,
  });
}

/** Native status codes of the C++ core (native/core/status.h, enum class StatusCode). */
export const NativeStatus = Object.freeze({
  OK: 0,
  INVALID_CONFIG: 1,
  SHAPE_MISMATCH: 2,
  INVALID_VALUE: 3,
  STATE_DICT: 4,
  OUT_OF_MEMORY: 5,
  INTERNAL: 6,
  /** A call on a model after dispose(). */
  DISPOSED: 7,
} as const);
