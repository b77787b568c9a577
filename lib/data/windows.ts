// The model inputs of a window, built in one place for training (ForecastDataset) and serving
// (Predictor), so what a model sees in production is what it saw in training. A window starting at
// row s reads x_enc = rows [s, s + seqLen) and x_dec = rows [s + seqLen - labelLen, s + seqLen)
// followed by predLen padding steps (0 or 1, the reference's dec_inp); the time marks of x_dec cover
// the same rows and the predLen rows after them.
import type { Tensor } from '../tensor.js';

/** The model inputs of B windows (a Batch whose tensors are Float32). */
export interface WindowBatch {
  /** [B, seqLen, encIn] */
  xEnc: Tensor<Float32Array>;
  /** [B, seqLen, nMark] */
  xMarkEnc: Tensor<Float32Array>;
  /** [B, labelLen + predLen, decIn]: the last labelLen steps, then predLen padding steps. */
  xDec: Tensor<Float32Array>;
  /** [B, labelLen + predLen, nMark] */
  xMarkDec: Tensor<Float32Array>;
}

export interface WindowShape {
  seqLen: number;
  labelLen: number;
  predLen: number;
  /** Channels of the value rows (encIn = decIn). */
  channels: number;
  /** Time-mark columns. */
  nMark: number;
  padding: 0 | 1;
}

/**
 * The batch of the windows starting at `starts`. `values` holds scaled rows [rows, channels] up to at
 * least the last window's s + seqLen; `marks` holds time marks [rows, nMark] up to s + seqLen + predLen.
 */
export function assembleWindows(values: Float32Array, marks: Float32Array, starts: readonly number[], w: WindowShape): WindowBatch {
  const { seqLen, labelLen, predLen, channels: C, nMark, padding } = w;
  const decLen = labelLen + predLen;
  const B = starts.length;
  const xEnc = new Float32Array(B * seqLen * C);
  const xMarkEnc = new Float32Array(B * seqLen * nMark);
  const xDec = new Float32Array(B * decLen * C);
  const xMarkDec = new Float32Array(B * decLen * nMark);
  starts.forEach((s, b) => {
    const sEnd = s + seqLen;
    const rBegin = sEnd - labelLen;
    xEnc.set(values.subarray(s * C, sEnd * C), b * seqLen * C);
    xMarkEnc.set(marks.subarray(s * nMark, sEnd * nMark), b * seqLen * nMark);
    xMarkDec.set(marks.subarray(rBegin * nMark, (rBegin + decLen) * nMark), b * decLen * nMark);
    xDec.set(values.subarray(rBegin * C, sEnd * C), b * decLen * C);
    if (padding !== 0) xDec.fill(padding, (b * decLen + labelLen) * C, (b + 1) * decLen * C);
  });
  return {
    xEnc: { data: xEnc, shape: [B, seqLen, C] },
    xMarkEnc: { data: xMarkEnc, shape: [B, seqLen, nMark] },
    xDec: { data: xDec, shape: [B, decLen, C] },
    xMarkDec: { data: xMarkDec, shape: [B, decLen, nMark] },
  };
}
