"""Fleet training in PyTorch, the baseline of bench/fleet.mjs: N seed-size Informers (the reference
algorithm, bench/cuda/pytorch_informer.py) trained on N series for a fixed number of epochs, as the
Node side trains them (the reference loop: Adam, MSE, shuffled batches of 32 with the last partial
batch dropped, validation and test losses each epoch, test metrics at the end), either one after
another in this process or in a pool of worker processes with one torch thread each.

  python3 bench/pytorch_fleet.py --csv-dir DIR --n 8 --epochs 3 --procs 2 --threads 1

Prints one JSON line: seconds, models, models per minute. Only torch and the standard library.
"""

import argparse
import csv
import json
import math
import multiprocessing as mp
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, 'cuda'))


def windows(path, cfg):
    """Scaled values and timeF-like marks of one series (minutely: 5 marks), split 0.7/0.1/0.2 as Dataset_Custom."""
    import torch
    with open(path) as f:
        rows = list(csv.reader(f))[1:]
    v = torch.tensor([float(r[1]) for r in rows])
    n = len(v)
    n_train, n_test = int(n * 0.7), int(n * 0.2)
    n_val = n - n_train - n_test
    seq, pred = cfg['seq_len'], cfg['pred_len']
    borders = {'train': (0, n_train), 'val': (n_train - seq, n_train + n_val), 'test': (n - n_test - seq, n)}
    mean, std = v[:n_train].mean(), v[:n_train].std(unbiased=False)
    x = ((v - mean) / std).unsqueeze(-1)
    t = torch.arange(n, dtype=torch.float32)
    marks = torch.stack([(t % 60) / 59 - 0.5, (t // 60 % 24) / 23 - 0.5, (t // 1440 % 7) / 6 - 0.5,
                         (t // 1440 % 30) / 29 - 0.5, (t // 1440 % 365) / 364 - 0.5], dim=-1)
    return x, marks, borders


def batch(x, marks, starts, cfg):
    import torch
    seq, label, pred = cfg['seq_len'], cfg['label_len'], cfg['pred_len']
    xe = torch.stack([x[s:s + seq] for s in starts])
    me = torch.stack([marks[s:s + seq] for s in starts])
    md = torch.stack([marks[s + seq - label:s + seq + pred] for s in starts])
    y = torch.stack([x[s + seq - label:s + seq + pred] for s in starts])
    xd = torch.cat([y[:, :label], torch.zeros(len(starts), pred, 1)], dim=1)
    return xe, me, xd, md, y[:, -pred:]


def train_one(args):
    path, cfg, epochs, seed, threads = args
    import torch
    import torch.nn as nn
    import pytorch_informer as pi
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    x, marks, borders = windows(path, cfg)
    model = pi.Informer(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = nn.MSELoss()
    span = cfg['seq_len'] + cfg['pred_len'] - 1

    def split_starts(name):
        a, b = borders[name]
        return list(range(a, b - span))

    def evaluate(name):
        model.eval()
        starts = split_starts(name)
        losses = []
        with torch.no_grad():
            for i in range(0, len(starts) - 31, 32):
                xe, me, xd, md, y = batch(x, marks, starts[i:i + 32], cfg)
                losses.append(loss_fn(model(xe, me, xd, md), y).item())
        model.train()
        return sum(losses) / max(1, len(losses))

    g = torch.Generator().manual_seed(seed)
    train = split_starts('train')
    for epoch in range(epochs):
        order = torch.randperm(len(train), generator=g).tolist()
        for i in range(0, len(order) - 31, 32):
            xe, me, xd, md, y = batch(x, marks, [train[j] for j in order[i:i + 32]], cfg)
            opt.zero_grad()
            loss = loss_fn(model(xe, me, xd, md), y)
            loss.backward()
            opt.step()
        evaluate('val')
        evaluate('test')
        for group in opt.param_groups:
            group['lr'] = 1e-4 * 0.5 ** (epoch + 1)
    return evaluate('test')


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--csv-dir', required=True)
    p.add_argument('--n', type=int, required=True)
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--procs', type=int, default=1, help='worker processes (1: in this process)')
    p.add_argument('--threads', type=int, default=1, help='torch threads per process')
    a = p.parse_args()
    import pytorch_informer as pi
    cfg = dict(pi.SEED, n_mark=5)
    files = sorted(os.path.join(a.csv_dir, f) for f in os.listdir(a.csv_dir) if f.endswith('.csv'))[:a.n]
    jobs = [(f, cfg, a.epochs, i, a.threads) for i, f in enumerate(files)]
    t0 = time.perf_counter()
    if a.procs == 1:
        losses = [train_one(j) for j in jobs]
    else:
        with mp.get_context('fork').Pool(a.procs) as pool:
            losses = pool.map(train_one, jobs, chunksize=1)
    seconds = time.perf_counter() - t0
    import torch
    print(json.dumps(dict(models=len(jobs), seconds=seconds, models_per_minute=60 * len(jobs) / seconds,
                          torch=torch.__version__, procs=a.procs, threads=a.threads,
                          mean_test_loss=sum(losses) / len(losses) if all(math.isfinite(l) for l in losses) else None)))


if __name__ == '__main__':
    main()
