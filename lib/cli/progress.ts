// A per-epoch progress bar on stderr: step, loss and ETA. On a terminal it redraws one line; in a
// log (CI, pipes) it prints a line at every tenth of the epoch instead of flooding it.
import type { EpochEvent, StepEvent } from '../train/trainer.js';
import { duration, fmt } from './format.js';

export class EpochProgress {
  private lastDecile = -1;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly epochs: number,
  ) {}

  step(e: StepEvent): void {
    const frac = e.step / e.steps;
    const eta = ((e.elapsedMs / e.step) * (e.steps - e.step)) / 1000;
    const label = `epoch ${e.epoch}/${this.epochs}`;
    if (this.stream.isTTY) {
      const width = 24;
      const filled = Math.round(frac * width);
      const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
      this.stream.write(`\r${label} [${bar}] ${e.step}/${e.steps} loss ${fmt(e.loss)} ETA ${duration(eta)}   `);
      return;
    }
    const decile = Math.floor(frac * 10);
    if (decile !== this.lastDecile) {
      this.lastDecile = decile;
      this.stream.write(`${label} step ${e.step}/${e.steps} loss ${fmt(e.loss)} ETA ${duration(eta)}\n`);
    }
  }

  epoch(e: EpochEvent): void {
    if (this.stream.isTTY) this.stream.write('\r\x1b[K');
    this.lastDecile = -1;
    const test = e.testLoss === null ? '' : ` test ${fmt(e.testLoss)}`;
    this.stream.write(
      `epoch ${e.epoch}/${this.epochs}: train ${fmt(e.trainLoss)} val ${fmt(e.valLoss)}${test} lr ${fmt(e.lr)} (${duration(e.seconds)})${e.best ? ' *' : ''}\n`,
    );
  }
}
