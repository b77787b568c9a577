"""Informer in plain PyTorch, computed as the reference code does (shared/REFERENCE.md), to time
against the native CUDA backend (bench/cuda/bench_cuda.cc) on the same GPU.

The model keeps the reference's algorithms, including the costly ones: ProbSparse attention draws
its [L_Q, U] key sample on the CPU every forward and gathers it from an expanded
[B, H, L_Q, L_K, d] view of K (materialising [B, H, L_Q, U, d]); the top-u queries are picked with
topk and scattered back into a mean / cumsum context. So the numbers are those of the reference's
algorithm on this machine, not of a tuned PyTorch model.

  python3 bench/cuda/pytorch_informer.py                      # self-checks only (CPU is fine)
  python3 bench/cuda/pytorch_informer.py --fixture F.safetensors   # also check one reference fixture
  python3 bench/cuda/pytorch_informer.py --bench --json out.json
  python3 bench/cuda/pytorch_informer.py --bench --device cpu --quick   # smoke run without a GPU

Only torch and the standard library are used.
"""

import argparse
import glob
import json
import math
import os
import statistics
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PAPER = dict(enc_in=7, dec_in=7, c_out=7, seq_len=96, label_len=48, pred_len=24, factor=5, d_model=512,
             n_heads=8, e_layers=2, d_layers=1, d_ff=2048, dropout=0.05, attn='prob', n_mark=4,
             activation='gelu', distil=True, mix=True)
PAPER_PARAMS = 11330055  # REFERENCE.md section 6, measured on the reference
# The seed configuration as the Node benchmarks time it (bench/common.mjs SEED: freq 'h', 4 time features).
SEED = dict(PAPER, enc_in=1, dec_in=1, c_out=1, seq_len=12, label_len=12, pred_len=6, d_model=32, n_heads=4,
            e_layers=1, d_layers=1, d_ff=128, n_mark=4)
QUICK = dict(PAPER, seq_len=24, label_len=12, pred_len=6, enc_in=3, dec_in=3, c_out=3, d_model=32, n_heads=4,
             d_ff=64)


# ---- embeddings (REFERENCE.md section 2) ----

class TokenEmbedding(nn.Module):
    """Conv1d over time, kernel 3, circular padding 1; Kaiming-normal weight (gain sqrt 2)."""

    def __init__(self, c_in, d_model):
        super().__init__()
        self.tokenConv = nn.Conv1d(c_in, d_model, kernel_size=3, padding=1, padding_mode='circular')
        nn.init.kaiming_normal_(self.tokenConv.weight, mode='fan_in', nonlinearity='leaky_relu')

    def forward(self, x):  # [B, L, C] -> [B, L, D]
        return self.tokenConv(x.permute(0, 2, 1)).transpose(1, 2)


class PositionalEmbedding(nn.Module):
    def __init__(self, d_model, max_len=5000):
        super().__init__()
        position = torch.arange(0, max_len).float().unsqueeze(1)
        freq = (torch.arange(0, d_model, 2).float() * -(math.log(10000.0) / d_model)).exp()
        pe = torch.zeros(max_len, d_model).float()
        pe[:, 0::2] = torch.sin(position * freq)
        pe[:, 1::2] = torch.cos(position * freq)
        self.register_buffer('pe', pe.unsqueeze(0))

    def forward(self, x):
        return self.pe[:, :x.size(1)]


class TimeFeatureEmbedding(nn.Module):
    def __init__(self, n_mark, d_model):
        super().__init__()
        self.embed = nn.Linear(n_mark, d_model)

    def forward(self, x_mark):
        return self.embed(x_mark)


class DataEmbedding(nn.Module):
    def __init__(self, c_in, n_mark, d_model, dropout):
        super().__init__()
        self.value_embedding = TokenEmbedding(c_in, d_model)
        self.position_embedding = PositionalEmbedding(d_model)
        self.temporal_embedding = TimeFeatureEmbedding(n_mark, d_model)
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, x, x_mark):
        x = self.value_embedding(x) + self.position_embedding(x) + self.temporal_embedding(x_mark)
        return self.dropout(x)


# ---- attention (REFERENCE.md section 3) ----

class KeySampler:
    """The reference's key-sample draw (uniform on [0, L_K), with replacement, from the global CPU
    generator), or, while `replay` holds recorded matrices, those in order (the fixture checks)."""
    replay = []

    @classmethod
    def draw(cls, high, shape):
        if cls.replay:
            sample = cls.replay.pop(0)
            assert tuple(sample.shape) == tuple(shape), f'recorded sample {tuple(sample.shape)}, drawing {shape}'
            return sample
        return torch.randint(high, shape)


class FullAttention(nn.Module):
    """Canonical attention with probability dropout; causal -inf mask when mask_flag."""

    def __init__(self, mask_flag, attention_dropout):
        super().__init__()
        self.mask_flag = mask_flag
        self.dropout = nn.Dropout(attention_dropout)

    def forward(self, queries, keys, values):  # [B, L, H, d] each
        B, L_Q, H, E = queries.shape
        L_K = keys.shape[1]
        scores = torch.einsum('blhe,bshe->bhls', queries, keys)
        if self.mask_flag:
            causal = torch.triu(torch.ones(L_Q, L_K, dtype=torch.bool, device=queries.device), diagonal=1)
            scores = scores.masked_fill(causal, -math.inf)
        weights = self.dropout(torch.softmax(scores * (1.0 / math.sqrt(E)), dim=-1))
        return torch.einsum('bhls,bshd->blhd', weights, values).contiguous()


class ProbAttention(nn.Module):
    """ProbSparse attention exactly as the reference computes it (REFERENCE.md 3c); no dropout."""

    def __init__(self, mask_flag, factor):
        super().__init__()
        self.mask_flag = mask_flag
        self.factor = factor

    def budget(self, L):  # factor * ceil(ln L), clipped to L
        return min(self.factor * int(math.ceil(math.log(L))), L)

    def sampled_measure(self, Q, K, n_sample, n_top):
        """M = max - sum / L_K of sampled scores; returns the top-u rows' full scores and their indices."""
        B, H, L_K, E = K.shape
        L_Q = Q.shape[2]
        # The reference's gather: an expanded view of K indexed by one sample row per query position
        # (drawn on the CPU from the global generator, shared by every batch element and head).
        K_expand = K.unsqueeze(-3).expand(B, H, L_Q, L_K, E)
        index_sample = KeySampler.draw(L_K, (L_Q, n_sample))
        K_sample = K_expand[:, :, torch.arange(L_Q).unsqueeze(1), index_sample, :]
        QK_sample = torch.matmul(Q.unsqueeze(-2), K_sample.transpose(-2, -1)).squeeze(-2)
        M = QK_sample.max(-1)[0] - torch.div(QK_sample.sum(-1), L_K)
        top = M.topk(n_top, sorted=False)[1]
        Q_reduce = Q[torch.arange(B)[:, None, None], torch.arange(H)[None, :, None], top, :]
        return torch.matmul(Q_reduce, K.transpose(-2, -1)), top

    def initial_context(self, V, L_Q):
        B, H, L_V, D = V.shape
        if not self.mask_flag:
            return V.mean(dim=-2).unsqueeze(-2).expand(B, H, L_Q, D).clone()
        assert L_Q == L_V, 'masked ProbSparse attention needs L_Q == L_V'
        return V.cumsum(dim=-2)

    def update_context(self, context, V, scores, top, L_Q):
        B, H, L_V, D = V.shape
        if self.mask_flag:  # ProbMask: the selected rows of the strictly upper triangle
            triangle = torch.ones(L_Q, L_V, dtype=torch.bool, device=V.device).triu(1)
            expanded = triangle[None, None, :].expand(B, H, L_Q, L_V)
            mask = expanded[torch.arange(B)[:, None, None], torch.arange(H)[None, :, None], top, :]
            scores = scores.masked_fill(mask, -math.inf)
        attn = torch.softmax(scores, dim=-1)
        context[torch.arange(B)[:, None, None], torch.arange(H)[None, :, None], top, :] = \
            torch.matmul(attn, V).type_as(context)
        return context

    def forward(self, queries, keys, values):  # [B, L, H, d] each
        L_Q, E = queries.shape[1], queries.shape[3]
        L_K = keys.shape[1]
        Q, K, V = queries.transpose(2, 1), keys.transpose(2, 1), values.transpose(2, 1)
        U_part, u = self.budget(L_K), self.budget(L_Q)
        scores_top, top = self.sampled_measure(Q, K, n_sample=U_part, n_top=u)
        scores_top = scores_top * (1.0 / math.sqrt(E))
        context = self.initial_context(V, L_Q)
        context = self.update_context(context, V, scores_top, top, L_Q)
        return context.transpose(2, 1).contiguous()


class AttentionLayer(nn.Module):
    """Q/K/V/out projections around an inner attention; mix = the reference's transpose + view."""

    def __init__(self, attention, d_model, n_heads, mix):
        super().__init__()
        d_head = d_model // n_heads
        self.inner_attention = attention
        self.query_projection = nn.Linear(d_model, d_head * n_heads)
        self.key_projection = nn.Linear(d_model, d_head * n_heads)
        self.value_projection = nn.Linear(d_model, d_head * n_heads)
        self.out_projection = nn.Linear(d_head * n_heads, d_model)
        self.n_heads = n_heads
        self.mix = mix

    def forward(self, queries, keys, values):
        B, L, _ = queries.shape
        S, H = keys.shape[1], self.n_heads
        out = self.inner_attention(self.query_projection(queries).view(B, L, H, -1),
                                   self.key_projection(keys).view(B, S, H, -1),
                                   self.value_projection(values).view(B, S, H, -1))
        if self.mix:
            out = out.transpose(2, 1).contiguous()
        return self.out_projection(out.view(B, L, -1))


# ---- encoder and decoder (REFERENCE.md sections 4 and 5) ----

def activation_fn(name):
    return F.relu if name == 'relu' else F.gelu


class EncoderLayer(nn.Module):
    def __init__(self, attention, d_model, d_ff, dropout, activation):
        super().__init__()
        self.attention = attention
        self.conv1 = nn.Conv1d(d_model, d_ff, kernel_size=1)
        self.conv2 = nn.Conv1d(d_ff, d_model, kernel_size=1)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = activation_fn(activation)

    def forward(self, x):
        x = self.norm1(x + self.dropout(self.attention(x, x, x)))
        y = self.dropout(self.activation(self.conv1(x.transpose(-1, 1))))
        y = self.dropout(self.conv2(y).transpose(-1, 1))
        return self.norm2(x + y)


class ConvLayer(nn.Module):
    """Distilling: circular Conv1d(3) -> BatchNorm1d -> ELU -> MaxPool1d(3, 2, 1) halves L."""

    def __init__(self, c_in):
        super().__init__()
        self.downConv = nn.Conv1d(c_in, c_in, kernel_size=3, padding=1, padding_mode='circular')
        self.norm = nn.BatchNorm1d(c_in)
        self.activation = nn.ELU()
        self.maxPool = nn.MaxPool1d(kernel_size=3, stride=2, padding=1)

    def forward(self, x):
        x = self.downConv(x.permute(0, 2, 1))
        x = self.maxPool(self.activation(self.norm(x)))
        return x.transpose(1, 2)


class Encoder(nn.Module):
    def __init__(self, attn_layers, conv_layers, norm_layer):
        super().__init__()
        self.attn_layers = nn.ModuleList(attn_layers)
        self.conv_layers = nn.ModuleList(conv_layers) if conv_layers else None
        self.norm = norm_layer

    def forward(self, x):
        if self.conv_layers is not None:
            for attn_layer, conv_layer in zip(self.attn_layers, self.conv_layers):
                x = conv_layer(attn_layer(x))
            x = self.attn_layers[-1](x)
        else:
            for attn_layer in self.attn_layers:
                x = attn_layer(x)
        return self.norm(x)


class DecoderLayer(nn.Module):
    def __init__(self, self_attention, cross_attention, d_model, d_ff, dropout, activation):
        super().__init__()
        self.self_attention = self_attention
        self.cross_attention = cross_attention
        self.conv1 = nn.Conv1d(d_model, d_ff, kernel_size=1)
        self.conv2 = nn.Conv1d(d_ff, d_model, kernel_size=1)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.activation = activation_fn(activation)

    def forward(self, x, cross):
        x = self.norm1(x + self.dropout(self.self_attention(x, x, x)))
        x = self.norm2(x + self.dropout(self.cross_attention(x, cross, cross)))
        y = self.dropout(self.activation(self.conv1(x.transpose(-1, 1))))
        y = self.dropout(self.conv2(y).transpose(-1, 1))
        return self.norm3(x + y)


class Decoder(nn.Module):
    def __init__(self, layers, norm_layer):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.norm = norm_layer

    def forward(self, x, cross):
        for layer in self.layers:
            x = layer(x, cross)
        return self.norm(x)


class Informer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg
        self.pred_len = c['pred_len']
        self.enc_embedding = DataEmbedding(c['enc_in'], c['n_mark'], c['d_model'], c['dropout'])
        self.dec_embedding = DataEmbedding(c['dec_in'], c['n_mark'], c['d_model'], c['dropout'])

        def self_attention(masked):
            if c['attn'] == 'prob':
                return ProbAttention(masked, c['factor'])
            return FullAttention(masked, c['dropout'])

        self.encoder = Encoder(
            [EncoderLayer(AttentionLayer(self_attention(False), c['d_model'], c['n_heads'], mix=False),
                          c['d_model'], c['d_ff'], c['dropout'], c['activation']) for _ in range(c['e_layers'])],
            [ConvLayer(c['d_model']) for _ in range(c['e_layers'] - 1)] if c['distil'] else None,
            nn.LayerNorm(c['d_model']))
        self.decoder = Decoder(
            [DecoderLayer(AttentionLayer(self_attention(True), c['d_model'], c['n_heads'], mix=c['mix']),
                          AttentionLayer(FullAttention(False, c['dropout']), c['d_model'], c['n_heads'], mix=False),
                          c['d_model'], c['d_ff'], c['dropout'], c['activation']) for _ in range(c['d_layers'])],
            nn.LayerNorm(c['d_model']))
        self.projection = nn.Linear(c['d_model'], c['c_out'])

    def forward(self, x_enc, x_mark_enc, x_dec, x_mark_dec):
        enc_out = self.encoder(self.enc_embedding(x_enc, x_mark_enc))
        dec_out = self.decoder(self.dec_embedding(x_dec, x_mark_dec), enc_out)
        return self.projection(dec_out)[:, -self.pred_len:, :]


# ---- data, checks and timing ----

def make_batch(cfg, B, seed):
    """Host tensors: normal values, timeF marks in [-0.5, 0.5], zero decoder placeholders."""
    g = torch.Generator().manual_seed(seed)
    L_dec = cfg['label_len'] + cfg['pred_len']
    x_enc = torch.randn(B, cfg['seq_len'], cfg['enc_in'], generator=g)
    mark_enc = torch.rand(B, cfg['seq_len'], cfg['n_mark'], generator=g) - 0.5
    x_dec = torch.randn(B, L_dec, cfg['dec_in'], generator=g)
    x_dec[:, cfg['label_len']:, :] = 0
    mark_dec = torch.rand(B, L_dec, cfg['n_mark'], generator=g) - 0.5
    target = torch.randn(B, cfg['pred_len'], cfg['c_out'], generator=g)
    return x_enc, mark_enc, x_dec, mark_dec, target


def self_checks(device):
    """Cheap facts any faithful implementation satisfies; raises AssertionError otherwise."""
    n_params = sum(p.numel() for p in Informer(PAPER).parameters())
    assert n_params == PAPER_PARAMS, f'paper config has {n_params} parameters, the reference {PAPER_PARAMS}'
    # With u == L_Q (L = 12, factor 5) every query is active: ProbSparse is full attention without
    # dropout, and the masked version causal attention.
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(2, 12, 4, 8, generator=g).to(device) for _ in range(3))
    for masked in (False, True):
        prob = ProbAttention(masked, factor=5)(q, k, v)
        full = FullAttention(masked, 0.0).eval()(q, k, v)
        err = (prob - full).abs().max().item()
        assert err < 1e-5, f'ProbSparse (u = L) differs from full attention by {err} (masked={masked})'
    # Lazy rows: with u < L the unselected rows hold mean(V) (unmasked).
    q, k, v = (torch.randn(1, 200, 2, 8, generator=g).to(device) for _ in range(3))
    out = ProbAttention(False, factor=5)(q, k, v)  # u = 30 of 200 rows
    lazy = (out - v.mean(dim=1, keepdim=True)).abs().amax(dim=-1) < 1e-5  # [B, L, H]
    assert int(lazy.sum()) == 2 * (200 - 30), f'{int(lazy.sum())} lazy rows, expected {2 * 170}'
    # Shapes and one training step of the small model.
    cfg = QUICK
    model = Informer(cfg).to(device)
    batch = [t.to(device) for t in make_batch(cfg, 2, 0)]
    out = model(*batch[:4])
    assert out.shape == (2, cfg['pred_len'], cfg['c_out']), tuple(out.shape)
    loss = F.mse_loss(out, batch[4])
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in model.parameters())
    print(f'self-checks passed ({n_params:,} parameters in the paper config, as the reference)')


def read_safetensors(path):
    """{name: tensor}, metadata of a safetensors file (F32 / I64, little-endian)."""
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop('__metadata__', {})
    dtypes = {'F32': torch.float32, 'I64': torch.int64}
    tensors = {}
    for name, info in header.items():
        begin, end = info['data_offsets']
        dtype = dtypes[info['dtype']]
        if end > begin:
            flat = torch.frombuffer(bytearray(data[8 + n + begin:8 + n + end]), dtype=dtype)
        else:
            flat = torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info['shape']).clone()
    return tensors, metadata


def assert_close(got, want, atol, rtol, what):
    err = (got.detach().double() - want.double()).abs()
    bound = atol + rtol * want.double().abs()
    assert bool((err <= bound).all()), f'{what}: max |diff| {err.max().item():.3g} beyond atol {atol} rtol {rtol}'


def fixture_check(path):
    """Reproduces a fixture made with the reference code (test/fixtures/README.md) on the CPU: the
    same weights (strict state_dict load: names as the reference's), the recorded key samples, then
    the train-mode output, loss and every gradient, and the eval output after the train pass."""
    tensors, metadata = read_safetensors(path)
    ref = json.loads(metadata['config'])
    name = os.path.basename(path)
    if ref.get('embed') != 'timeF' or ref.get('model', 'informer') != 'informer':
        print(f'fixture {name}: skipped (this script implements the timeF Informer only)')
        return
    if ref.get('normalize', 'none') != 'none':
        # These fixtures were made from this model plus RevIN (scripts/gen-normalize-fixtures.py):
        # checking them here would compare the script with itself.
        print(f"fixture {name}: skipped (normalize '{ref['normalize']}': generated from this script)")
        return
    cfg = {k: ref[k] for k in ('enc_in', 'dec_in', 'c_out', 'seq_len', 'label_len', 'pred_len', 'factor', 'd_model',
                               'n_heads', 'e_layers', 'd_layers', 'd_ff', 'dropout', 'attn', 'activation', 'distil',
                               'mix')}
    cfg['n_mark'] = tensors['input.x_mark_enc'].shape[-1]
    model = Informer(cfg)
    model.load_state_dict({k[len('param.'):]: v for k, v in tensors.items() if k.startswith('param.')}, strict=True)
    inputs = [tensors[f'input.{k}'] for k in ('x_enc', 'x_mark_enc', 'x_dec', 'x_mark_dec')]
    n_samples = sum(1 for k in tensors if k.startswith('sample.'))
    KeySampler.replay = [tensors[f'sample.{i}'] for i in range(n_samples)]
    try:
        model.train()
        out = model(*inputs)
        loss = F.mse_loss(out, tensors['input.target'])
        loss.backward()
        assert_close(out, tensors['output.train'], 1e-5, 1e-4, f'{name} output.train')
        assert_close(loss.reshape(1), tensors['loss'], 1e-7, 1e-5, f'{name} loss')
        for pname, p in model.named_parameters():
            want = tensors.get(f'grad.{pname}')
            if want is None:
                continue
            scale = want.abs().max().item()
            assert_close(p.grad, want, 1e-6 + 1e-4 * scale, 1e-4, f'{name} grad.{pname}')
        model.eval()
        with torch.no_grad():
            assert_close(model(*inputs), tensors['output.eval'], 1e-5, 1e-4, f'{name} output.eval')
        assert not KeySampler.replay, f'{name}: {len(KeySampler.replay)} recorded samples left over'
    finally:
        KeySampler.replay = []
    print(f'fixture {name}: outputs, loss and gradients match the reference')


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


BUDGET_MS, MIN_REPS = 5000.0, 3  # a measurement stops early after ~5 s (at least 3 reps), as bench_cuda's


def time_calls(fn, device, warmup, reps):
    """(median wall time in ms of fn() followed by a device synchronisation, repetitions taken)."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    while len(times) < reps and (len(times) < MIN_REPS or sum(times) < BUDGET_MS):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), len(times)


def time_launches(fn, device, reps, quick):
    """(median ms per call with calls back to back, ~2 ms per synchronisation, repetitions taken), as
    bench_cuda times kernels."""
    fn()
    sync(device)
    inner = 1
    if not quick:
        t0 = time.perf_counter()
        fn()
        sync(device)
        single = max((time.perf_counter() - t0) * 1e3, 1e-3)
        inner = int(min(200, max(1, math.ceil(2.0 / single))))
    times, total = [], 0.0
    while len(times) < reps and (len(times) < MIN_REPS or total < BUDGET_MS):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        sync(device)
        batch = (time.perf_counter() - t0) * 1e3
        total += batch
        times.append(batch / inner)
    return statistics.median(times), len(times)


def is_oom(err):
    return 'out of memory' in str(err).lower()


def bench_model(cfg, device, args):
    """Train step (Adam, MSE, dropout) and eval forwards; inputs cross from the host each call and
    results come back, as in the reference's training and test loops (and as Model::Forward does)."""
    big = 2 if args.quick else 32
    model = Informer(cfg).to(device)
    rows = []

    model.eval()
    for B, seed in ((big, 11), (1, 12)):
        batch = make_batch(cfg, B, seed)

        def forward():
            with torch.no_grad():
                x = [t.to(device) for t in batch[:4]]
                return model(*x).cpu()

        ms, reps = time_calls(forward, device, args.warmup, args.reps)
        rows.append(dict(name='forward (eval)', batch=B, ms=ms, reps=reps))
        print(f'  forward batch {B}: {ms:.3f} ms', file=sys.stderr)

    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    criterion = nn.MSELoss()
    batch = make_batch(cfg, big, 13)

    def train_step():
        optimizer.zero_grad()
        x = [t.to(device) for t in batch]
        loss = criterion(model(*x[:4]), x[4])
        loss.backward()
        optimizer.step()
        return loss.item()

    ms, reps = time_calls(train_step, device, args.warmup, max(1, args.reps // 2))
    rows.insert(0, dict(name='train step (MSE + Adam)', batch=big, ms=ms, reps=reps))
    print(f'  train step batch {big}: {ms:.3f} ms', file=sys.stderr)
    return rows


def bench_attention(device, args):
    """Inner attention forward only (no projections), inference, unmasked, [B, L, H, d] inputs."""
    H, d = (2, 16) if args.quick else (8, 64)
    lengths = [24, 64] if args.quick else [96, 256, 512, 1024, 2048, 4096, 8192]
    prob, full = ProbAttention(False, factor=5).eval(), FullAttention(False, PAPER['dropout']).eval()
    rows = []
    for B in args.attn_batches:
        for L in lengths:
            g = torch.Generator().manual_seed(L)
            q, k, v = (torch.randn(B, L, H, d, generator=g).to(device) for _ in range(3))
            row = dict(B=B, L=L, U=prob.budget(L), u=prob.budget(L), full_ms=None, prob_ms=None)
            for key, module in (('full_ms', full), ('prob_ms', prob)):
                try:
                    with torch.no_grad():
                        row[key] = time_launches(lambda: module(q, k, v), device, args.reps, args.quick)[0]
                except RuntimeError as err:  # a long sequence may not fit: record it, go on
                    if not is_oom(err):
                        raise
                    print(f'  attention B={B} L={L} {key}: out of memory', file=sys.stderr)
                    if device.type == 'cuda':
                        torch.cuda.empty_cache()
            row['full_over_prob'] = (row['full_ms'] / row['prob_ms']
                                     if row['full_ms'] is not None and row['prob_ms'] is not None else None)
            rows.append(row)
            print(f'  attention B={B} L={L}: full {row["full_ms"]} ms, prob {row["prob_ms"]} ms', file=sys.stderr)
            del q, k, v
            if device.type == 'cuda':
                torch.cuda.empty_cache()
    return dict(H=H, d=d, factor=5, rows=rows)


def fmt_ms(ms):
    if ms is None:
        return 'OOM'
    return f'{ms:.3f}' if ms < 1 else (f'{ms:.2f}' if ms < 100 else f'{ms:.1f}')


def fmt_ratio(r):
    return '-' if r is None else f'{r:.2f}x'


def device_name(device):
    if device.type == 'cuda':
        return torch.cuda.get_device_name(device)
    return f'CPU ({torch.get_num_threads()} threads)'


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--bench', action='store_true', help='time the model and the attention kernels')
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    parser.add_argument('--quick', action='store_true', help='tiny shapes, one repetition (a smoke run)')
    parser.add_argument('--reps', type=int, default=20, help='repetitions per measurement (train step: half)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--attn-batches', default='1', help='comma-separated batch sizes for the attention table')
    parser.add_argument('--no-tf32', action='store_true',
                        help='disable TF32 in cuDNN convolutions (PyTorch enables it by default; matmuls stay fp32)')
    parser.add_argument('--json', help='also write the results to this file')
    parser.add_argument('--config', choices=['paper', 'seed'], default='paper', help='model size to time')
    parser.add_argument('--model-only', action='store_true',
                        help='time the model only (no attention table, no fixture or self checks): the Node benchmarks call this')
    parser.add_argument('--threads', type=int, help='torch.set_num_threads (default: torch\'s choice)')
    parser.add_argument('--fixture', action='append',
                        help='reference fixture(s) to reproduce first (default: test/fixtures/*.safetensors)')
    args = parser.parse_args()
    args.attn_batches = [int(b) for b in args.attn_batches.split(',') if b]
    if args.quick:
        args.reps, args.warmup = 1, 1

    if args.device == 'cuda' and not torch.cuda.is_available():
        print('pytorch_informer: CUDA is not available (use --device cpu for a smoke run)', file=sys.stderr)
        return 1
    device = torch.device(args.device)
    if args.no_tf32:
        torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    fixtures = args.fixture
    if fixtures is None:
        here = os.path.dirname(os.path.abspath(__file__))
        fixtures = sorted(glob.glob(os.path.join(here, '..', '..', 'test', 'fixtures', '*.safetensors')))
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.model_only:
        for path in fixtures:
            fixture_check(path)
        self_checks(device)
    if not args.bench:
        return 0

    cfg = QUICK if args.quick else SEED if args.config == 'seed' else PAPER
    if args.model_only:
        rows = bench_model(cfg, device, args)
        result = dict(tool='pytorch_informer', device=device_name(device), torch=torch.__version__,
                      threads=torch.get_num_threads(), config=cfg, model=rows)
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(result, f, indent=2)
                f.write('\n')
        else:
            print(json.dumps(result))
        return 0
    tf32 = dict(matmul=bool(torch.backends.cuda.matmul.allow_tf32), cudnn=bool(torch.backends.cudnn.allow_tf32))
    name = device_name(device)
    print(f'# pytorch_informer{" --quick (tiny shapes, 1 rep: times mean nothing)" if args.quick else ""}\n')
    print(f'Device: {name}; torch {torch.__version__}; TF32 matmul {tf32["matmul"]}, cuDNN conv {tf32["cudnn"]}\n')
    sys.stdout.flush()

    model_rows = bench_model(cfg, device, args)
    print(f'## {"Quick" if args.quick else "Paper"} model, reference algorithm (seq {cfg["seq_len"]}/'
          f'{cfg["label_len"]}/{cfg["pred_len"]}, d_model {cfg["d_model"]}, {cfg["n_heads"]} heads, '
          f'e_layers {cfg["e_layers"]}, d_layers {cfg["d_layers"]}, d_ff {cfg["d_ff"]}, '
          f'ProbSparse factor {cfg["factor"]}, dropout {cfg["dropout"]})\n')
    print('| measurement | batch | PyTorch ms |\n| --- | --- | --- |')
    for r in model_rows:
        print(f'| {r["name"]} | {r["batch"]} | {fmt_ms(r["ms"])} |')
    print(f'\nMedians of up to {args.reps} reps (train step {max(1, args.reps // 2)}) after {args.warmup} warm-ups, '
          f'at most ~{BUDGET_MS / 1000:.0f} s per measurement; inputs copied to the device and results back '
          f'in each call.\n')
    sys.stdout.flush()

    attn = bench_attention(device, args)
    print(f'## Attention forward (reference modules, unmasked, inference), H={attn["H"]}, d={attn["d"]}\n')
    print('| B | L | U = u | full ms | ProbSparse ms | full / ProbSparse |\n| --- | --- | --- | --- | --- | --- |')
    for r in attn['rows']:
        print(f'| {r["B"]} | {r["L"]} | {r["U"]} | {fmt_ms(r["full_ms"])} | {fmt_ms(r["prob_ms"])} | '
              f'{fmt_ratio(r["full_over_prob"])} |')
    print('\nMedian ms per call with calls back to back (about 2 ms per synchronisation).\n')

    if args.json:
        result = dict(tool='pytorch_informer', device=name, torch=torch.__version__, quick=args.quick, tf32=tf32,
                      config=cfg, model=model_rows, attention=attn)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
            f.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
