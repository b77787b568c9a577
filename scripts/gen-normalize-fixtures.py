#!/usr/bin/env python3
"""Golden fixtures for the model's instance normalisation (config `normalize`: 'revin', 'last'),
made once with PyTorch and committed under test/fixtures (run again only to change them):

    /usr/bin/python3 scripts/gen-normalize-fixtures.py      # Debian's python3-torch

The network is the PyTorch Informer of bench/cuda/pytorch_informer.py (which reproduces the
reference fixtures); around it sits the normalisation as the RevIN paper's code computes it (Kim et
al., ICLR 2022): per window and channel, mean and sqrt(population variance + 1e-5), both detached;
x_norm = (x - mean) / std * affine_weight + affine_bias; the output mapped back with
(y - affine_bias) / (affine_weight + 1e-5**2) * std + mean. 'last' centres on the window's last value
with scale 1 and no affine. The decoder input's label steps are normalised with the encoder window's
statistics and its placeholder steps are fed unchanged; output channel j uses input channel
enc_in - c_out + j. The files have the format of the reference fixtures (test/fixtures/README.md), so
every fixture test of the package (parity, gradients, ONNX, devices) runs on them.
"""

import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'bench', 'cuda'))
import pytorch_informer as ref  # noqa: E402

EPS = 1e-5

BASE = dict(seq_len=12, label_len=6, pred_len=6, d_model=8, n_heads=2, e_layers=2, d_layers=1, d_ff=16,
            factor=5, dropout=0.0, activation='gelu', distil=True, mix=True, attn='prob', n_mark=4)
# Windows of 12 keep u = L in every ProbSparse layer (u = min(5 ceil(ln L), L)), so the outputs do not
# hinge on a near-tie of the top-u selection; the recorded samples are stored all the same.
FIXTURES = {
    # MS: three input channels, the forecast is the last one's; learnable affine set off identity.
    'normalize_revin_ms': dict(BASE, enc_in=3, dec_in=3, c_out=1, features='MS', normalize='revin', padding=0),
    # M with the last-value shift, full attention and a ones placeholder (padding 1) passed through.
    'normalize_last_m': dict(BASE, enc_in=2, dec_in=2, c_out=2, features='M', normalize='last', padding=1,
                             attn='full', e_layers=1, mix=False),
}


class RevIN(nn.Module):
    def __init__(self, num_features):
        super().__init__()
        self.affine_weight = nn.Parameter(torch.ones(num_features))
        self.affine_bias = nn.Parameter(torch.zeros(num_features))


class NormalizedInformer(ref.Informer):
    def __init__(self, cfg):
        super().__init__(cfg)
        self.mode = cfg['normalize']
        self.label_len = cfg['label_len']
        self.c_out = cfg['c_out']
        if self.mode == 'revin':
            self.revin = RevIN(cfg['enc_in'])

    def statistics(self, x_enc):
        if self.mode == 'revin':
            mean = x_enc.mean(dim=1, keepdim=True).detach()
            std = torch.sqrt(x_enc.var(dim=1, keepdim=True, unbiased=False) + EPS).detach()
            return mean, std
        return x_enc[:, -1:, :].detach(), torch.ones_like(x_enc[:, -1:, :])

    def normalize(self, x, center, scale):
        z = (x - center) / scale
        return z * self.revin.affine_weight + self.revin.affine_bias if self.mode == 'revin' else z

    def denormalize(self, y, center, scale):
        first = center.shape[-1] - self.c_out
        if self.mode == 'revin':
            w = self.revin.affine_weight[first:]
            b = self.revin.affine_bias[first:]
            y = (y - b) / (w + EPS * EPS)
        return y * scale[..., first:] + center[..., first:]

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        center, scale = self.statistics(x_enc)
        x_enc = self.normalize(x_enc, center, scale)
        x_dec = torch.cat([self.normalize(x_dec[:, :self.label_len], center, scale), x_dec[:, self.label_len:]], dim=1)
        enc_out = self.encoder(self.enc_embedding(x_enc, x_mark_enc))
        dec_out = self.decoder(self.dec_embedding(x_dec, x_mark_dec), enc_out)
        return self.denormalize(self.projection(dec_out), center, scale)[:, -self.pred_len:, :]


def hourly_marks(B, L, start_hours):
    """timeF features of hourly dates from 2016-07-01 00:00 (REFERENCE.md 2d): hour, weekday, day, day of year."""
    import datetime as dt
    out = torch.zeros(B, L, 4)
    t0 = dt.datetime(2016, 7, 1)
    for b in range(B):
        for t in range(L):
            d = t0 + dt.timedelta(hours=int(start_hours[b]) + t)
            out[b, t] = torch.tensor([d.hour / 23 - 0.5, d.weekday() / 6 - 0.5, (d.day - 1) / 30 - 0.5,
                                      (d.timetuple().tm_yday - 1) / 365 - 0.5])
    return out


def make_inputs(cfg, B, g):
    """Non-stationary windows: each (window, channel) its own level, trend and noise scale, so the
    normalisation matters. The target continues the series; x_dec is the reference decoder input."""
    L, Lp, Ll, C = cfg['seq_len'], cfg['pred_len'], cfg['label_len'], cfg['enc_in']
    t = torch.arange(L + Lp, dtype=torch.float32).view(1, -1, 1)
    level = torch.randn(B, 1, C, generator=g) * 3
    trend = torch.randn(B, 1, C, generator=g) * 0.2
    noise = torch.rand(B, 1, C, generator=g) * 2 + 0.2
    series = level + trend * t + noise * torch.randn(B, L + Lp, C, generator=g)
    x_enc = series[:, :L].contiguous()
    x_dec = torch.cat([x_enc[:, L - Ll:], torch.full((B, Lp, C), float(cfg['padding']))], dim=1)
    target = series[:, L:, C - cfg['c_out']:].contiguous()
    start = torch.randint(0, 5000, (B,), generator=g)
    mark_enc = hourly_marks(B, L, start)
    mark_dec = hourly_marks(B, Ll + Lp, start + L - Ll)
    return x_enc, mark_enc, x_dec, mark_dec, target


def module_outputs(model, cfg):
    """Forward hooks recording the activations the package exposes (forwardWithActivations)."""
    names = ['enc_embedding', 'encoder', 'dec_embedding', 'decoder', 'projection']
    names += [f'encoder.attn_layers.{i}' for i in range(cfg['e_layers'])]
    if cfg['distil']:
        names += [f'encoder.conv_layers.{i}' for i in range(cfg['e_layers'] - 1)]
    names += [f'decoder.layers.{i}' for i in range(cfg['d_layers'])]
    store = {}
    modules = dict(model.named_modules())
    for n in names:
        modules[n].register_forward_hook(lambda m, i, o, n=n: store.__setitem__(n, o.detach().clone()))
    return store


def write_safetensors(path, tensors, metadata):
    names = sorted(tensors)
    header, blobs, offset = {}, [], 0
    for n in names:
        t = tensors[n].contiguous()
        dtype = {torch.float32: 'F32', torch.int64: 'I64'}[t.dtype]
        data = t.numpy().tobytes()
        header[n] = {'dtype': dtype, 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header['__metadata__'] = metadata
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(path + '.tmp', 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(blobs))
    os.replace(path + '.tmp', path)


def make_fixture(name, cfg, B=4, seed=0):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed + 1)
    model = NormalizedInformer(cfg)
    if cfg['normalize'] == 'revin':  # off the identity, so the affine's forward and gradients are exercised
        with torch.no_grad():
            model.revin.affine_weight.copy_(torch.rand(cfg['enc_in'], generator=g) + 0.5)
            model.revin.affine_bias.copy_(torch.randn(cfg['enc_in'], generator=g) * 0.3)
    params = {f'param.{k}': v.detach().clone() for k, v in model.state_dict().items()}
    x_enc, mark_enc, x_dec, mark_dec, target = make_inputs(cfg, B, g)
    inputs = (x_enc, mark_enc, x_dec, mark_dec)

    samples = []
    draw = ref.KeySampler.draw.__func__

    def recording(cls, high, shape):
        s = draw(cls, high, shape)
        samples.append(s.clone())
        return s

    ref.KeySampler.draw = classmethod(recording)
    acts = module_outputs(model, cfg)
    out = {}
    model.train()
    y = model(*inputs)
    loss = F.mse_loss(y, target)
    loss.backward()
    out.update({f'act.train.{k}': v for k, v in acts.items()})
    out['output.train'] = y.detach().clone()
    out['loss'] = loss.detach().reshape(1).clone()
    out.update({f'grad.{k}': p.grad.detach().clone() for k, p in model.named_parameters()})
    out.update({f'bn_after_train.{k}': v.detach().clone() for k, v in model.state_dict().items()
                if '.norm.running_' in k or k.endswith('num_batches_tracked')})
    acts.clear()
    model.eval()
    with torch.no_grad():
        out['output.eval'] = model(*inputs).clone()
    out.update({f'act.eval.{k}': v for k, v in acts.items()})
    ref.KeySampler.draw = classmethod(draw)

    tensors = dict(params)
    tensors.update(out)
    for k, v in zip(('x_enc', 'x_mark_enc', 'x_dec', 'x_mark_dec', 'target'), (*inputs, target)):
        tensors[f'input.{k}'] = v
    for i, s in enumerate(samples):
        tensors[f'sample.{i}'] = s
    config = {k: cfg[k] for k in ('enc_in', 'dec_in', 'c_out', 'seq_len', 'label_len', 'pred_len', 'factor', 'd_model',
                                  'n_heads', 'e_layers', 'd_layers', 'd_ff', 'attn', 'activation', 'distil', 'mix',
                                  'dropout', 'padding', 'features', 'normalize')}
    config.update(name=name, seed=0, batch=B, embed='timeF', freq='h')
    metadata = {
        'format': 'informer-fixture-v1', 'config': json.dumps(config), 'params_without_grad': '[]',
        'generator': 'scripts/gen-normalize-fixtures.py (bench/cuda/pytorch_informer.py + RevIN)',
        'torch': torch.__version__,
    }
    path = os.path.join(HERE, '..', 'test', 'fixtures', f'{name}.safetensors')
    write_safetensors(path, tensors, metadata)
    print(f'{name}: loss {loss.item():.6f}, {len(samples)} key-sample draws, {os.path.getsize(path):,} bytes -> {path}')


if __name__ == '__main__':
    for fixture, settings in FIXTURES.items():
        make_fixture(fixture, settings)
