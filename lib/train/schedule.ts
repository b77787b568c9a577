// Learning-rate schedules of the reference (utils/tools.py adjust_learning_rate), applied after
// each finished epoch (1-based) to set the rate of the next one.
import { ConfigError } from '../errors.js';

export type LrAdjust = 'type1' | 'type2' | 'none';

const TYPE2: Readonly<Record<number, number>> = { 2: 5e-5, 4: 1e-5, 6: 5e-6, 8: 1e-6, 10: 5e-7, 15: 1e-7, 20: 5e-8 };

/** The learning rate after `epoch` epochs, or undefined when the schedule leaves it unchanged. */
export function adjustedLearningRate(lradj: LrAdjust, baseLr: number, epoch: number): number | undefined {
  switch (lradj) {
    case 'type1':
      return baseLr * 0.5 ** (epoch - 1);
    case 'type2':
      return TYPE2[epoch];
    case 'none':
      return undefined;
    default:
      throw new ConfigError(`lradj must be 'type1', 'type2' or 'none', got ${String(lradj)}`);
  }
}
