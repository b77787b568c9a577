// Early stopping as the reference's EarlyStopping (utils/tools.py), on score = -val_loss: the first
// epoch sets the best score; a later one with score < best + delta counts as no improvement (stop
// after `patience` of them in a row); anything else (an equal loss too, with delta 0) is the new
// best and resets the counter. A NaN loss counts as no improvement (the reference would keep it).
export class EarlyStopping {
  bestScore: number | undefined;
  counter = 0;
  stop = false;

  constructor(
    readonly patience: number,
    readonly delta = 0,
  ) {}

  get bestLoss(): number {
    return this.bestScore === undefined ? Infinity : -this.bestScore;
  }

  /** Records an epoch's validation loss; returns true when it is the new best (save a checkpoint). */
  update(valLoss: number): boolean {
    const score = -valLoss;
    if (this.bestScore === undefined && !Number.isNaN(score)) {
      this.bestScore = score;
      return true;
    }
    if (Number.isNaN(score) || this.bestScore === undefined || score < this.bestScore + this.delta) {
      this.counter += 1;
      if (this.counter >= this.patience) this.stop = true;
      return false;
    }
    this.bestScore = score;
    this.counter = 0;
    return true;
  }
}
