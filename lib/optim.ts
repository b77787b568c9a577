// Adam with PyTorch semantics (torch.optim.Adam: betas 0.9/0.999, eps 1e-8, bias correction, L2
// weight decay added to the gradient). The moments live in the native model next to the weights;
// this object holds the settings (the learning rate changes with the schedule).
import { ConfigError } from './errors.js';

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export class Adam {
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;

  constructor(opts: AdamOptions = {}) {
    const { lr = 1e-4, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0 } = opts;
    if (!(Number.isFinite(lr) && lr >= 0)) throw new ConfigError(`Adam lr must be a finite number >= 0, got ${lr}`);
    if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => b >= 0 && b < 1)) {
      throw new ConfigError(`Adam betas must be two numbers in [0, 1), got ${JSON.stringify(betas)}`);
    }
    if (!(eps > 0)) throw new ConfigError(`Adam eps must be > 0, got ${eps}`);
    if (!(weightDecay >= 0)) throw new ConfigError(`Adam weightDecay must be >= 0, got ${weightDecay}`);
    this.lr = lr;
    this.betas = [betas[0], betas[1]];
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  /** The settings as the native trainStep takes them. */
  native() {
    if (!(Number.isFinite(this.lr) && this.lr >= 0)) throw new ConfigError(`Adam lr must be a finite number >= 0, got ${this.lr}`);
    return { lr: this.lr, beta1: this.betas[0], beta2: this.betas[1], eps: this.eps, weightDecay: this.weightDecay };
  }
}
