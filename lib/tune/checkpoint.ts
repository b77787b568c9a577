// A trial's checkpoint between two rungs: the weights, the Adam moments, and where the training
// schedule stands (TrainingProgress, with the best epoch's weights), written as one folder that
// appears whole (staging folder + rename), so an interrupted search resumes from the last rung.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { writeFileAtomic, writeDirAtomic } from '../fs/atomic.js';
import { FormatError } from '../errors.js';
import type { Informer } from '../model.js';
import { readSafetensors, writeSafetensors } from '../safetensors.js';
import type { TrainingProgress } from '../train/trainer.js';

const MODEL = 'model.safetensors';
const BEST = 'best.safetensors';
const OPTIMIZER = 'optimizer.safetensors';
const PROGRESS = 'progress.json';

/** Writes `dir` (replacing an older checkpoint there) from the model and the schedule's progress. */
export function saveCheckpoint(dir: string, model: Informer, progress: TrainingProgress): void {
  writeDirAtomic(
    dir,
    (staged) => {
      model.save(path.join(staged, MODEL));
      if (progress.best) writeSafetensors(path.join(staged, BEST), progress.best);
      const opt = model.optimizerState();
      writeSafetensors(
        path.join(staged, OPTIMIZER),
        { m: { data: opt.m, shape: [opt.m.length] }, v: { data: opt.v, shape: [opt.v.length] } },
        { step: String(opt.step) },
      );
      const { best: _best, ...rest } = progress;
      writeFileAtomic(path.join(staged, PROGRESS), JSON.stringify(rest));
    },
    { replace: true },
  );
}

/** Restores the model's weights and Adam moments from `dir`; returns the schedule's progress. */
export function loadCheckpoint(dir: string, model: Informer): TrainingProgress {
  let progress: TrainingProgress;
  try {
    progress = JSON.parse(fs.readFileSync(path.join(dir, PROGRESS), 'utf8')) as TrainingProgress;
  } catch (e) {
    throw new FormatError(`checkpoint ${dir}: cannot read ${PROGRESS}: ${(e as Error).message}`, { cause: e });
  }
  // JSON has no undefined: an early-stopping state without a best score comes back as null.
  progress.stopper.bestScore ??= undefined;
  model.loadStateDict(readSafetensors(path.join(dir, MODEL)).tensors);
  const opt = readSafetensors(path.join(dir, OPTIMIZER));
  const m = opt.tensors.m?.data,
    v = opt.tensors.v?.data;
  if (!(m instanceof Float32Array) || !(v instanceof Float32Array))
    throw new FormatError(`checkpoint ${dir}: ${OPTIMIZER} has no float32 m and v`);
  if (m.length > 0) model.setOptimizerState({ step: Number(opt.metadata.step ?? 0), m, v });
  if (fs.existsSync(path.join(dir, BEST))) progress.best = readSafetensors(path.join(dir, BEST)).tensors;
  return progress;
}
