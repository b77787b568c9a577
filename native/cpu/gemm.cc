// fp32 GEMM driver: packing, cache blocking, threading, the epilogue and the portable kernels. The
// kernel set is chosen in gemm_dispatch.cc; its tile shape (mr x nr) and blocking (mc, kc, nc) are
// read from its CpuKernels.
//
// Large problems follow the BLIS loop nest: for each nc-wide column block and kc-deep slice, op(B) is
// packed into kc x nr panels (the panel being multiplied stays in L1d, the whole slice in L2/L3),
// then for each mc-tall row block op(A) is packed into mr x kc panels (kept in L2) and the micro-kernel
// sweeps the tiles. Small-M problems (batch-1 inference, the seed config) read op(A) in place instead
// of packing it, so a 12x32x32 Linear costs little more than its arithmetic; with a weight packed once
// (PackedB) and at most mc rows they also stream its panels in memory order (gemm_packed_rows), one
// contiguous run per thread. Every tile's epilogue runs in the micro-kernel while the tile is still in
// registers. The residual may be C itself (x = x + f(x)): it is always read before C is written.
#include "cpu/gemm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <utility>

#include "cpu/gemm_internal.h"
#include "cpu/thread_pool.h"

namespace informer {
namespace gemm_internal {
namespace {

// op(A) is read in place rather than packed (see gemm_blocked) up to this many rows and elements:
// batch-1 inference (96 x 512 activations) and the seed config; the paper config's training GEMMs
// keep packing. Measured on 2 vCPUs (Zen 5), in place, whole pool: 96x512x512 459 -> 159 us,
// 576x32x128 26 -> 15 us, 128x32x384 (weight gradient) 46 -> 12 us.
constexpr int64_t kInPlaceMaxM = 1024;
constexpr int64_t kInPlaceMaxElements = 1 << 20;
// kGemmParallelWork (gemm.h): the hand-off itself is cheap with the workers awake (0.3 us), but a step
// made of small GEMMs leaves gaps long enough for the workers to sleep, and waking one costs tens of
// microseconds in a VM; under 2^22 (40 us on one core) splitting did not pay (seed train step, 2 vCPUs:
// 1.84 ms with 2^18, 1.64 ms without splitting).
// From this many, each thread gets several blocks, so a descheduled thread (shared VM cores) does not
// hold up the others; the extra packing is well under 1%.
constexpr double kBalanceWork = 1 << 24;
constexpr int kTasksPerThread = 4;

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Grow-only, 64-byte aligned scratch: after warm-up a thread's GEMM calls do not allocate.
class PackBuffer {
 public:
  PackBuffer() = default;
  PackBuffer(const PackBuffer&) = delete;
  PackBuffer& operator=(const PackBuffer&) = delete;
  ~PackBuffer() { release(); }

  // Returns nullptr when the memory cannot be had.
  float* get(size_t n) {
    if (n <= cap_) return data_;
    release();
    data_ = static_cast<float*>(::operator new(n * sizeof(float), std::align_val_t(64), std::nothrow));
    cap_ = data_ ? n : 0;
    return data_;
  }

 private:
  void release() {
    if (data_) ::operator delete(data_, std::align_val_t(64));
    data_ = nullptr;
    cap_ = 0;
  }
  float* data_ = nullptr;
  size_t cap_ = 0;
};

struct Workspace {
  PackBuffer a;  // packed op(A) block
  PackBuffer b;  // packed op(B) slice
  PackBuffer r;  // staged residual block (residual aliasing C with several K slices)
};

Workspace& workspace() {
  thread_local Workspace ws;
  return ws;
}

struct Problem {
  bool ta, tb;
  int64_t M, N, K;
  float alpha;
  const float* A;  // op(A) [M, K]: A [M, lda] or A^T with A [K, lda]
  int64_t lda;
  const float* B;  // op(B) [K, N]: B [K, ldb] or B^T with B [N, ldb]
  int64_t ldb;
  float beta;
  float* C;  // [M, ldc]
  int64_t ldc;
  GemmEpilogue ep;
  // C coordinates of ep.residual[0]: (0, 0) except when the residual was staged for one C block.
  int64_t res_i0 = 0, res_j0 = 0;
  // op(B) already packed (PackedB: panel jr of nr columns holds all K rows at jr * K), or null.
  const float* b_packed = nullptr;
};

// ---- portable kernels -------------------------------------------------------------------------

constexpr int kMR = 6;  // portable register tile
constexpr int kNR = 16;

void portable_activation(Activation act, float* x, int64_t n) {
  if (act == Activation::kRelu) {
    for (int64_t i = 0; i < n; ++i) x[i] = x[i] < 0.0f ? 0.0f : x[i];  // NaN stays NaN
  } else if (act == Activation::kGelu) {
    for (int64_t i = 0; i < n; ++i) x[i] = gelu(x[i]);
  }
}

// Writes one finished kMR x kNR accumulator tile to C through the epilogue (see TileArgs). Each row
// is finished in a local copy before C is written, so a residual that aliases C reads the old values.
void portable_store_tile(const float (&acc)[kMR][kNR], float* c, int64_t ldc, const TileArgs& t) {
  for (int i = 0; i < kMR; ++i) {
    float* ci = c + i * ldc;
    float row[kNR];
    for (int j = 0; j < kNR; ++j) {
      float v = t.alpha * acc[i][j];
      if (t.load_c) v += t.beta * ci[j];
      if (t.bias) v += t.bias[j];
      row[j] = v;
    }
    portable_activation(t.act, row, kNR);
    if (t.residual) {
      const float* ri = t.residual + i * t.ldr;
      for (int j = 0; j < kNR; ++j) row[j] += ri[j];
    }
    std::memcpy(ci, row, sizeof(row));
  }
}

#if defined(__GNUC__) || defined(__clang__)
// 4-wide generic vectors (SSE2 on x86-64, NEON on ARM). The tile is done as two 6 x 8 halves so the
// 12 accumulators, 2 op(B) vectors and the broadcast fit in 16 registers.
typedef float V4 __attribute__((vector_size(16)));

V4 load4(const float* p) {
  V4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

void portable_micro_kernel(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t b_rs,
                           float* c, int64_t ldc, const TileArgs& t) {
  float acc[kMR][kNR];
  for (int h = 0; h < kNR; h += 8) {
    V4 acc_lo[kMR] = {}, acc_hi[kMR] = {};
    const float* bk = b + h;
    const float* ak = a;
    for (int64_t k = 0; k < kc; ++k, bk += b_rs, ak += a_cs) {
      const V4 b0 = load4(bk), b1 = load4(bk + 4);
      for (int i = 0; i < kMR; ++i) {
        const float s = ak[i * a_rs];
        const V4 av = {s, s, s, s};
        acc_lo[i] += av * b0;
        acc_hi[i] += av * b1;
      }
    }
    for (int i = 0; i < kMR; ++i) {
      std::memcpy(&acc[i][h], &acc_lo[i], sizeof(V4));
      std::memcpy(&acc[i][h + 4], &acc_hi[i], sizeof(V4));
    }
  }
  portable_store_tile(acc, c, ldc, t);
}
#else
void portable_micro_kernel(int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b, int64_t b_rs,
                           float* c, int64_t ldc, const TileArgs& t) {
  float acc[kMR][kNR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const float* bk = b + k * b_rs;
    for (int i = 0; i < kMR; ++i) {
      const float ai = a[i * a_rs + k * a_cs];
      for (int j = 0; j < kNR; ++j) acc[i][j] += ai * bk[j];
    }
  }
  portable_store_tile(acc, c, ldc, t);
}
#endif

// b: [nr, ldb], dst: [kc, kNR].
void portable_pack_b_trans(int64_t kc, int nr, const float* b, int64_t ldb, float* dst) {
  for (int j = 0; j < nr; ++j) {
    const float* src = b + j * ldb;
    for (int64_t k = 0; k < kc; ++k) dst[k * kNR + j] = src[k];
  }
  for (int j = nr; j < kNR; ++j) {
    for (int64_t k = 0; k < kc; ++k) dst[k * kNR + j] = 0.0f;
  }
}

const CpuKernels kPortableKernels = {"portable",
                                     portable_micro_kernel,
                                     portable_pack_b_trans,
                                     portable_activation,
                                     /*pack_a_rows=*/nullptr,
                                     kMR,
                                     kNR,
                                     /*mc=*/144,
                                     /*kc=*/256,
                                     /*nc=*/4096};

// ---- packing ----------------------------------------------------------------------------------

// Packs op(A)[i0:i0+mc, k0:k0+kc] into ceil(mc / R) panels of kc x R (k-major), zero-padded, for the
// tile height R = MR, or R = mr_rt when MR is 0; a known MR lets the row loops unroll.
template <int MR>
void pack_a_tile(const Problem& p, int mr_rt, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) {
  const int R = MR > 0 ? MR : mr_rt;
  for (int64_t ir = 0; ir < mc; ir += R) {
    const int mr = static_cast<int>(std::min<int64_t>(R, mc - ir));
    float* d = dst + ir * kc;
    if (!p.ta) {
      const float* s[kMaxMR];
      for (int r = 0; r < R; ++r) s[r] = p.A + (i0 + ir + std::min(r, mr - 1)) * p.lda + k0;
      if (mr == R) {
        for (int64_t k = 0; k < kc; ++k) {
          for (int r = 0; r < R; ++r) d[k * R + r] = s[r][k];
        }
      } else {
        for (int64_t k = 0; k < kc; ++k) {
          for (int r = 0; r < R; ++r) d[k * R + r] = r < mr ? s[r][k] : 0.0f;
        }
      }
    } else {
      // op(A) = A^T (weight gradients dy^T x): each k row holds the panel's R values side by side,
      // so full panels are straight copies the compiler vectorises.
      const float* s = p.A + k0 * p.lda + i0 + ir;
      if (mr == R) {
        for (int64_t k = 0; k < kc; ++k) std::memcpy(d + k * R, s + k * p.lda, R * sizeof(float));
      } else {
        for (int64_t k = 0; k < kc; ++k) {
          const float* sk = s + k * p.lda;
          for (int r = 0; r < R; ++r) d[k * R + r] = r < mr ? sk[r] : 0.0f;
        }
      }
    }
  }
}

void pack_a(const Problem& p, const CpuKernels& kern, int64_t i0, int64_t mc, int64_t k0, int64_t kc, float* dst) {
  if (kern.pack_a_rows && !p.ta) {  // the kernel set's SIMD packer for full panels, the loop for a partial one
    const int64_t full = mc / kern.mr * kern.mr;
    for (int64_t ir = 0; ir < full; ir += kern.mr)
      kern.pack_a_rows(kc, p.A + (i0 + ir) * p.lda + k0, p.lda, dst + ir * kc);
    if (full == mc) return;
    dst += full * kc;
    i0 += full;
    mc -= full;
  }
  switch (kern.mr) {
    case 6:
      return pack_a_tile<6>(p, 6, i0, mc, k0, kc, dst);
    case 12:
      return pack_a_tile<12>(p, 12, i0, mc, k0, kc, dst);
    default:
      return pack_a_tile<0>(p, kern.mr, i0, mc, k0, kc, dst);
  }
}

// Packs op(B)[k0:k0+kc, j0:j0+nc] into ceil(nc / NR) panels of kc x NR (NR = kern.nr), zero-padded.
void pack_b(const Problem& p, const CpuKernels& kern, int64_t k0, int64_t kc, int64_t j0, int64_t nc, float* dst) {
  const int NR = kern.nr;
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
    float* d = dst + jr * kc;
    if (p.tb) {
      kern.pack_b_trans(kc, nr, p.B + (j0 + jr) * p.ldb + k0, p.ldb, d);
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const float* s = p.B + (k0 + k) * p.ldb + j0 + jr;
        float* dk = d + k * NR;
        if (nr == NR) {
          std::memcpy(dk, s, NR * sizeof(float));
        } else {
          int j = 0;
          for (; j < nr; ++j) dk[j] = s[j];
          for (; j < NR; ++j) dk[j] = 0.0f;
        }
      }
    }
  }
}

// ---- tiles ------------------------------------------------------------------------------------

// One mr x nr tile of C. Partial tiles go through a full-size staging tile, so the micro-kernel only
// ever sees whole tiles; a and b must then still hold kern.mr rows / kern.nr columns (packed,
// zero-padded).
void run_tile(const CpuKernels& kern, int64_t kc, const float* a, int64_t a_rs, int64_t a_cs, const float* b,
              int64_t b_rs, float* c, int64_t ldc, int mr, int nr, const TileArgs& t) {
  const int MR = kern.mr, NR = kern.nr;
  if (mr == MR && nr == NR) {
    kern.micro_kernel(kc, a, a_rs, a_cs, b, b_rs, c, ldc, t);
    return;
  }
  // Staging buffers are filled only when the kernel will read them (ct is always written in full).
  alignas(64) float ct[kMaxMR * kMaxNR];
  alignas(64) float rt[kMaxMR * kMaxNR];
  alignas(64) float bt[kMaxNR];
  const size_t tile_bytes = static_cast<size_t>(MR * NR) * sizeof(float);
  TileArgs s = t;
  if (t.load_c) {
    std::memset(ct, 0, tile_bytes);
    for (int i = 0; i < mr; ++i) std::memcpy(ct + i * NR, c + i * ldc, nr * sizeof(float));
  }
  if (t.residual) {
    std::memset(rt, 0, tile_bytes);
    for (int i = 0; i < mr; ++i) std::memcpy(rt + i * NR, t.residual + i * t.ldr, nr * sizeof(float));
    s.residual = rt;
    s.ldr = NR;
  }
  if (t.bias) {
    std::memset(bt, 0, NR * sizeof(float));
    std::memcpy(bt, t.bias, nr * sizeof(float));
    s.bias = bt;
  }
  kern.micro_kernel(kc, a, a_rs, a_cs, b, b_rs, ct, NR, s);
  for (int i = 0; i < mr; ++i) std::memcpy(c + i * ldc, ct + i * NR, nr * sizeof(float));
}

// Epilogue arguments of the tile at (i, j); `last` says whether this is the final K slice.
TileArgs tile_args(const Problem& p, bool first, bool last, int64_t i, int64_t j) {
  TileArgs t;
  t.alpha = p.alpha;
  t.beta = first ? p.beta : 1.0f;
  t.load_c = !first || p.beta != 0.0f;
  if (last) {
    t.act = p.ep.act;
    t.bias = p.ep.bias ? p.ep.bias + j : nullptr;
    t.residual = p.ep.residual ? p.ep.residual + (i - p.res_i0) * p.ep.ldr + (j - p.res_j0) : nullptr;
    t.ldr = p.ep.ldr;
  }
  return t;
}

// ---- drivers ----------------------------------------------------------------------------------

float activate(Activation act, float v) {
  if (act == Activation::kRelu) return v < 0.0f ? 0.0f : v;
  if (act == Activation::kGelu) return gelu(v);
  return v;
}

// Plain triple loop: the fallback when scratch memory cannot be allocated.
void reference_gemm(const Problem& p, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  for (int64_t i = m0; i < m1; ++i) {
    float* ci = p.C + i * p.ldc;
    for (int64_t j = n0; j < n1; ++j) {
      float acc = 0.0f;
      for (int64_t k = 0; k < p.K; ++k) {
        const float av = p.ta ? p.A[k * p.lda + i] : p.A[i * p.lda + k];
        const float bv = p.tb ? p.B[j * p.ldb + k] : p.B[k * p.ldb + j];
        acc += av * bv;
      }
      float v = p.alpha * acc;
      if (p.beta != 0.0f) v += p.beta * ci[j];
      if (p.ep.bias) v += p.ep.bias[j];
      v = activate(p.ep.act, v);
      if (p.ep.residual) v += p.ep.residual[(i - p.res_i0) * p.ep.ldr + (j - p.res_j0)];
      ci[j] = v;
    }
  }
}

// Whether the memory spans of the residual and of C intersect.
bool residual_overlaps_c(const Problem& p) {
  const auto span = [](const float* base, int64_t rows, int64_t ld, int64_t cols) {
    const uintptr_t lo = reinterpret_cast<uintptr_t>(base);
    return std::make_pair(lo, lo + static_cast<uintptr_t>(((rows - 1) * ld + cols) * sizeof(float)));
  };
  const auto r = span(p.ep.residual, p.M, p.ep.ldr, p.N);
  const auto c = span(p.C, p.M, p.ldc, p.N);
  return r.first < c.second && c.first < r.second;
}

// With several K slices C holds partial sums before the residual is read; a residual stored in C
// itself (x = x + f(x)) is therefore copied out first, for the block [m0, m1) x [n0, n1) only, and p
// pointed at the copy. Returns false when the scratch memory cannot be had.
bool stage_aliased_residual(Problem* p, const CpuKernels& kern, Workspace* ws, int64_t m0, int64_t m1, int64_t n0,
                            int64_t n1) {
  if (!p->ep.residual || p->K <= kern.kc || !residual_overlaps_c(*p)) return true;
  const int64_t rows = m1 - m0, cols = n1 - n0;
  float* staged = ws->r.get(static_cast<size_t>(rows * cols));
  if (!staged) return false;
  for (int64_t i = 0; i < rows; ++i) {
    std::memcpy(staged + i * cols, p->ep.residual + (m0 + i) * p->ep.ldr + n0,
                static_cast<size_t>(cols) * sizeof(float));
  }
  p->ep.residual = staged;
  p->ep.ldr = cols;
  p->res_i0 = m0;
  p->res_j0 = n0;
  return true;
}

// Blocked GEMM of the C block [m0, m1) x [n0, n1) on the calling thread. op(B) is packed per
// kc x nc slice (or read in place when its rows are contiguous and whole panels wide). op(A) is
// packed per mc x kc block, or, with a_in_place, read where it lies: packing A costs about as much
// as 32 micro-kernel multiply-adds per element, which small-M problems (batch-1 inference, the seed
// config, blocks of a split GEMM) never win back; only a partial last row panel is then packed.
void gemm_blocked(const Problem& problem, const CpuKernels& kern, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                  bool a_in_place) {
  Workspace& ws = workspace();
  const int64_t K = problem.K;
  const int MR = kern.mr, NR = kern.nr;
  const int64_t MC = kern.mc, KC = kern.kc, NC = kern.nc;
  const int64_t kc_max = std::min(KC, K);
  const bool direct_b = a_in_place && !problem.tb && (n1 - n0) % NR == 0;
  const bool own_b = !direct_b && !problem.b_packed;
  float* bp = own_b ? ws.b.get(static_cast<size_t>(round_up(std::min(NC, n1 - n0), NR) * kc_max)) : nullptr;
  float* ap = ws.a.get(static_cast<size_t>((a_in_place ? MR : round_up(std::min(MC, m1 - m0), MR)) * kc_max));
  if ((own_b && !bp) || !ap) return reference_gemm(problem, m0, m1, n0, n1);

  Problem p = problem;
  if (!stage_aliased_residual(&p, kern, &ws, m0, m1, n0, n1)) return reference_gemm(problem, m0, m1, n0, n1);
  const int64_t a_rs = p.ta ? 1 : p.lda, a_cs = p.ta ? p.lda : 1;
  for (int64_t jc = n0; jc < n1; jc += NC) {
    const int64_t nc = std::min(NC, n1 - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const bool first = pc == 0;
      const bool last = pc + kc == K;
      if (own_b) pack_b(p, kern, pc, kc, jc, nc, bp);
      for (int64_t ic = m0; ic < m1; ic += MC) {
        const int64_t mc = std::min(MC, m1 - ic);
        // In place: full row panels are read from op(A); the partial last one is packed into ap.
        const int64_t m_full = a_in_place ? mc / MR * MR : mc;
        if (a_in_place && m_full < mc) pack_a(p, kern, ic + m_full, mc - m_full, pc, kc, ap);
        if (!a_in_place) pack_a(p, kern, ic, mc, pc, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int nr = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          const float* b = p.b_packed ? p.b_packed + (jc + jr) * K + pc * NR
                           : direct_b ? p.B + pc * p.ldb + jc + jr
                                      : bp + jr * kc;
          const int64_t b_rs = direct_b ? p.ldb : NR;
          // Pre-packed weights are read once per panel, by the first row tile, and at batch 1 they
          // stream from DRAM (the paper model's 42 MB do not stay in cache): the first tiles of each
          // panel fetch the next panel into L2, a line per k step, so its first tile need not wait
          // (96x512x512 with 67 MB of weights, one thread: 160 -> 194 GFLOP/s).
          const float* next_panel = p.b_packed && jr + NR < nc ? p.b_packed + (jc + jr + NR) * K + pc * NR : nullptr;
          const int64_t panel_lines = kc * NR / 16;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int mr = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            const int64_t i = ic + ir, j = jc + jr;
            TileArgs t = tile_args(p, first, last, i, j);
            const int64_t line0 = ir / MR * kc;  // tile ir / MR fetches lines [line0, line0 + kc)
            if (next_panel && line0 < panel_lines) t.prefetch = next_panel + line0 * 16;
            float* c = p.C + i * p.ldc + j;
            if (!a_in_place) {
              run_tile(kern, kc, ap + ir * kc, 1, MR, b, b_rs, c, p.ldc, mr, nr, t);
            } else if (ir < m_full) {
              run_tile(kern, kc, p.A + i * a_rs + pc * a_cs, a_rs, a_cs, b, b_rs, c, p.ldc, mr, nr, t);
            } else {
              run_tile(kern, kc, ap, 1, MR, b, b_rs, c, p.ldc, mr, nr, t);
            }
          }
        }
      }
    }
  }
}

// Pre-packed op(B) times a few rows read in place (batch-1 inference): the C block [m0, m1) x [n0, n1)
// with m1 - m0 <= kern.mc. The packed panels of [n0, n1) are one contiguous run of memory (panel j
// holds all K rows at j * K), and at batch 1 they stream from DRAM (the paper model's weights do not
// stay in cache), so they are visited in memory order: each panel over all its K slices before the
// next, every row tile of a slice before the next slice. While a slice is multiplied the first tiles
// fetch the next one into L2, a line per k step; blocking N or K into panels visited out of that order
// left a quarter of the panels unprefetched (the paper forward's 23 products at batch 1, 2 threads,
// alternating: 5.4-5.6 -> 4.7-4.85 ms).
void gemm_packed_rows(const Problem& problem, const CpuKernels& kern, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
  Workspace& ws = workspace();
  const int64_t K = problem.K, M = m1 - m0;
  const int MR = kern.mr, NR = kern.nr;
  const int64_t KC = kern.kc;
  const int64_t m_full = M / MR * MR;
  // A partial last row tile is packed once for every K slice: MR x K, slice pc at pc * MR.
  float* ap = m_full < M ? ws.a.get(static_cast<size_t>(MR * K)) : nullptr;
  if (m_full < M && !ap) return reference_gemm(problem, m0, m1, n0, n1);
  Problem p = problem;
  if (!stage_aliased_residual(&p, kern, &ws, m0, m1, n0, n1)) return reference_gemm(problem, m0, m1, n0, n1);
  if (ap) pack_a(p, kern, m0 + m_full, M - m_full, 0, K, ap);
  const int64_t a_rs = p.ta ? 1 : p.lda, a_cs = p.ta ? p.lda : 1;
  const float* run_end = p.b_packed + round_up(n1, NR) * K;  // end of this block's panels
  for (int64_t j = n0; j < n1; j += NR) {
    const int nr = static_cast<int>(std::min<int64_t>(NR, n1 - j));
    const float* panel = p.b_packed + j * K;
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const float* b = panel + pc * NR;
      const float* next = b + kc * NR;  // the next slice in memory, this panel's or the next one's
      const int64_t next_lines = next < run_end ? std::min<int64_t>(run_end - next, KC * NR) / 16 : 0;
      for (int64_t ir = 0; ir < M; ir += MR) {
        const int mr = static_cast<int>(std::min<int64_t>(MR, M - ir));
        const int64_t i = m0 + ir;
        TileArgs t = tile_args(p, pc == 0, pc + kc == K, i, j);
        const int64_t line0 = ir / MR * kc;  // tile ir / MR fetches lines [line0, line0 + kc)
        if (line0 + kc <= next_lines) t.prefetch = next + line0 * 16;
        float* c = p.C + i * p.ldc + j;
        if (ir < m_full) {
          run_tile(kern, kc, p.A + i * a_rs + pc * a_cs, a_rs, a_cs, b, NR, c, p.ldc, mr, nr, t);
        } else {
          run_tile(kern, kc, ap + pc * MR, 1, MR, b, NR, c, p.ldc, mr, nr, t);
        }
      }
    }
  }
}

// K == 0 or alpha == 0: C = act(beta * C + bias) + residual, with C not read when beta == 0. Rows go
// through a small local buffer so a residual that aliases C is read before C is written.
void epilogue_only(const Problem& p, const CpuKernels& kern) {
  constexpr int64_t kChunk = 256;
  float buf[kChunk];
  for (int64_t i = 0; i < p.M; ++i) {
    float* ci = p.C + i * p.ldc;
    const float* ri = p.ep.residual ? p.ep.residual + i * p.ep.ldr : nullptr;
    for (int64_t j0 = 0; j0 < p.N; j0 += kChunk) {
      const int64_t n = std::min(kChunk, p.N - j0);
      for (int64_t j = 0; j < n; ++j) {
        float v = p.beta == 0.0f ? 0.0f : p.beta * ci[j0 + j];
        if (p.ep.bias) v += p.ep.bias[j0 + j];
        buf[j] = v;
      }
      kern.activation(p.ep.act, buf, n);
      if (ri) {
        for (int64_t j = 0; j < n; ++j) buf[j] += ri[j0 + j];
      }
      std::memcpy(ci + j0, buf, static_cast<size_t>(n) * sizeof(float));
    }
  }
}

// Splits C into a gm x gn grid of blocks made of whole tiles: the most blocks up to `tasks` that the
// tile counts allow, and among those grids the one that minimises a block's arithmetic plus its
// packing traffic.
void plan_grid(int64_t M, int64_t N, int mr, int nr, int tasks, bool pack_a, bool pack_b, int64_t* gm_out,
               int64_t* gn_out) {
  const int64_t m_tiles = (M + mr - 1) / mr, n_tiles = (N + nr - 1) / nr;
  *gm_out = 1;
  *gn_out = 1;
  for (int64_t total = tasks; total > 1; --total) {
    double best = -1.0;
    for (int64_t gm = 1; gm <= total; ++gm) {
      if (total % gm != 0) continue;
      const int64_t gn = total / gm;
      if (gm > m_tiles || gn > n_tiles) continue;
      const double mt = static_cast<double>((m_tiles + gm - 1) / gm * mr);
      const double nt = static_cast<double>((n_tiles + gn - 1) / gn * nr);
      // packing an element ~ 8 tile multiply-adds
      const double cost = mt * nt + 8.0 * ((pack_a ? mt : 0.0) + (pack_b ? nt : 0.0));
      if (best < 0.0 || cost < best) {
        best = cost;
        *gm_out = gm;
        *gn_out = gn;
      }
    }
    if (best >= 0.0) return;
  }
}

}  // namespace

const CpuKernels* portable_kernels() { return &kPortableKernels; }

}  // namespace gemm_internal

using namespace gemm_internal;

namespace {

// Threads, grid and path for one problem (p.K > 0, alpha != 0).
void drive(const Problem& p, const CpuKernels& kern, ThreadPool* pool) {
  const int64_t M = p.M, N = p.N, K = p.K;
  const double work = static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K);
  const int threads = pool ? pool->size() : 1;
  const bool a_in_place = M <= kInPlaceMaxM && M * K <= kInPlaceMaxElements;
  if (p.b_packed && a_in_place && M <= kern.mc) {
    // One contiguous run of panels per thread: more, smaller runs (scheduled dynamically) break the
    // stream at every run boundary (paper GEMMs at batch 1, 2 threads: 8 runs 5.2 ms, 2 runs 4.8 ms).
    const int64_t panels = (N + kern.nr - 1) / kern.nr;
    const int64_t tasks = threads > 1 && work >= kGemmParallelWork ? std::min<int64_t>(panels, threads) : 1;
    if (tasks > 1) {
      struct Split {
        const Problem* p;
        const CpuKernels* kern;
        int64_t panels, tasks;
      } split{&p, &kern, panels, tasks};
      pool->parallel_for(tasks, 1, [s = &split](int64_t begin, int64_t end) {
        const int64_t nr = s->kern->nr;
        for (int64_t task = begin; task < end; ++task) {
          const int64_t n0 = s->panels * task / s->tasks * nr;
          const int64_t n1 = std::min(s->p->N, s->panels * (task + 1) / s->tasks * nr);
          if (n0 < n1) gemm_packed_rows(*s->p, *s->kern, 0, s->p->M, n0, n1);
        }
      });
      return;
    }
    return gemm_packed_rows(p, kern, 0, M, 0, N);
  }
  if (threads > 1 && work >= kGemmParallelWork) {
    int64_t gm = 1, gn = 1;
    // A packed op(B) costs nothing to split, so only A packing is charged then.
    plan_grid(M, N, kern.mr, kern.nr, threads * (work >= kBalanceWork ? kTasksPerThread : 1), !a_in_place,
              p.b_packed == nullptr, &gm, &gn);
    if (gm * gn > 1) {
      struct Grid {
        const Problem* p;
        const CpuKernels* kern;
        bool a_in_place;
        int64_t gn, m_step, n_step;
      } grid{&p,
             &kern,
             a_in_place,
             gn,
             ((M + kern.mr - 1) / kern.mr + gm - 1) / gm * kern.mr,
             ((N + kern.nr - 1) / kern.nr + gn - 1) / gn * kern.nr};
      // One captured pointer fits std::function's inline storage: no allocation per call.
      pool->parallel_for(gm * gn, 1, [g = &grid](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
          const int64_t m0 = task / g->gn * g->m_step, n0 = task % g->gn * g->n_step;
          const int64_t m1 = std::min(g->p->M, m0 + g->m_step);
          const int64_t n1 = std::min(g->p->N, n0 + g->n_step);
          if (m0 < m1 && n0 < n1) gemm_blocked(*g->p, *g->kern, m0, m1, n0, n1, g->a_in_place);
        }
      });
      return;
    }
  }
  gemm_blocked(p, kern, 0, M, 0, N, a_in_place);
}

}  // namespace

void sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc, const GemmEpilogue& epilogue,
           ThreadPool* pool) {
  if (M <= 0 || N <= 0) return;
  const Problem p{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, epilogue};
  const CpuKernels& kern = active_kernels();
  if (K <= 0 || alpha == 0.0f) return epilogue_only(p, kern);
  drive(p, kern, pool);
}

size_t PackedB::floats_for(int64_t n, int64_t k) {
  const int NR = active_kernels().nr;
  return static_cast<size_t>((n + NR - 1) / NR * NR * k);
}

void PackedB::pack(const float* w, int64_t n, int64_t k, ThreadPool* pool) {
  own_.resize(floats_for(n, k));
  storage_ = nullptr;
  pack_to(own_.data(), w, n, k, pool);
}

void PackedB::pack_into(float* storage, const float* w, int64_t n, int64_t k, ThreadPool* pool) {
  own_ = std::vector<float>();
  storage_ = storage;
  pack_to(storage, w, n, k, pool);
}

void PackedB::pack_to(float* dst, const float* w, int64_t n, int64_t k, ThreadPool* pool) {
  const CpuKernels& kern = active_kernels();
  const int NR = kern.nr;
  const int64_t panels = (n + NR - 1) / NR;
  floats_ = floats_for(n, k);
  N_ = n;
  K_ = k;
  kernel_ = kern.name;
  auto run = [&](int64_t begin, int64_t end) {
    for (int64_t jr = begin; jr < end; ++jr) {
      const int nr = static_cast<int>(std::min<int64_t>(NR, n - jr * NR));
      kern.pack_b_trans(k, nr, w + jr * NR * k, k, dst + jr * NR * k);
    }
  };
  if (pool && n * k >= (1 << 18)) {
    pool->parallel_for(panels, 4, run);
  } else {
    run(0, panels);
  }
}

bool PackedB::usable(int64_t n, int64_t k) const {
  return n == N_ && k == K_ && kernel_ == active_kernels().name && floats_ > 0;
}

void sgemm_packed_b(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, const PackedB& packed,
                    float beta, float* C, int64_t ldc, const GemmEpilogue& epilogue, ThreadPool* pool) {
  if (M <= 0 || N <= 0) return;
  Problem p{false, true, M, N, K, 1.0f, A, lda, B, K, beta, C, ldc, epilogue};
  const CpuKernels& kern = active_kernels();
  if (K <= 0) return epilogue_only(p, kern);
  if (packed.usable(N, K)) p.b_packed = packed.data();
  drive(p, kern, pool);
}

float gelu(float x) {
  // 1 + erf(x / sqrt 2) == erfc(-x / sqrt 2), which stays accurate where erf is close to -1.
  const double xd = static_cast<double>(x);
  return static_cast<float>(0.5 * xd * std::erfc(-xd * 0.70710678118654752440));
}

void apply_activation(Activation act, float* x, int64_t n) {
  if (act == Activation::kNone || !x || n <= 0) return;
  active_kernels().activation(act, x, n);
}

}  // namespace informer
