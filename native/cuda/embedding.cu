// The integer-mark temporal embedding lookup on the GPU, forward and backward (see embedding.h).
#include "cuda/embedding.h"

#include <algorithm>

#include "cuda/compat.h"

namespace informer::cuda {
namespace {

constexpr int kLookupThreads = 256;
constexpr int kBackwardMaxThreads = 256;
constexpr int64_t kTargetBlocks = 128;
constexpr unsigned kMaxGridY = 65535;

// int(m) truncated toward zero like .long(), clamped into [0, rows): the host validates the marks,
// this only guarantees that a bad one (out of range, NaN) can never read or write out of bounds.
// Comparing before converting also avoids the undefined float->int conversion of huge values.
__device__ __forceinline__ int64_t MarkIndex(float m, int64_t rows) {
  if (!(m >= 0.f)) return 0;  // negatives (those in (-1, 0) truncate to 0 anyway) and NaN
  if (!(m < static_cast<float>(rows))) return rows - 1;
  const int64_t idx = static_cast<int64_t>(m);
  return idx < rows ? idx : rows - 1;
}

__device__ __forceinline__ void AddInto(float& out, const float& x) { out += x; }
__device__ __forceinline__ void AddInto(float4& out, const float4& x) {
  out.x += x.x, out.y += x.y, out.z += x.z, out.w += x.w;
}

// threadIdx.x / blockIdx.x walk a row's `units` (float or float4) so a warp reads contiguous
// memory; threadIdx.y / blockIdx.y walk rows (grid-stride, as grid.y is capped). The mark of a row
// is read once per thread and is the same address across the row's threads (one broadcast load).
template <typename V>
__global__ void TemporalLookupAddKernel(int64_t N, int64_t n_mark, const float* marks, int column, const V* table,
                                        int64_t rows, int64_t units, V* out) {
  const int64_t u = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (u >= units) return;
  const int64_t row_stride = static_cast<int64_t>(gridDim.y) * blockDim.y;
  for (int64_t n = static_cast<int64_t>(blockIdx.y) * blockDim.y + threadIdx.y; n < N; n += row_stride) {
    const int64_t idx = MarkIndex(marks[n * n_mark + column], rows);
    V o = out[n * units + u];
    AddInto(o, table[idx * units + u]);
    out[n * units + u] = o;
  }
}

// One block per (table row r, tile of blockDim.x columns); no atomics. The block scans the marks
// blockDim.x at a time, compacts the positions whose index is r into shared memory in ascending
// order (ballot + per-warp counts), then every thread adds those dy rows for its column. So each
// dtable element is summed by one thread, starting from its current value, in ascending n: the
// exact float sequence of the CPU kernel (bit-identical results, deterministic), while a thread
// reads only the ~N/rows rows that hit its table row instead of all N. Tables are tiny (rows 4..32)
// so rows * column tiles blocks fill the GPU well enough; re-reading the marks per block is cheap
// (N floats, L2-resident).
__global__ void TemporalLookupBackwardKernel(int64_t N, int64_t n_mark, const float* marks, int column, const float* dy,
                                             int64_t rows, int64_t D, float* dtable) {
  __shared__ int hits[kBackwardMaxThreads];  // offsets (from the tile base) of matching n
  __shared__ int warp_hits[kBackwardMaxThreads / kWarpSize];
  const int64_t r = blockIdx.x;
  const int tid = threadIdx.x, lane = tid % kWarpSize, warp = tid / kWarpSize;
  const int warps = blockDim.x / kWarpSize;
  const int64_t tile_width = blockDim.x;
  for (int64_t tile = blockIdx.y; tile * tile_width < D; tile += gridDim.y) {  // uniform across the block
    const int64_t j = tile * tile_width + tid;
    const bool active = j < D;
    float acc = active ? dtable[r * D + j] : 0.f;
    for (int64_t base = 0; base < N; base += tile_width) {
      const int64_t n = base + tid;
      const bool hit = n < N && MarkIndex(marks[n * n_mark + column], rows) == r;
      const unsigned ballot = __ballot_sync(kFullMask, hit);
      if (lane == 0) warp_hits[warp] = __popc(ballot);
      __syncthreads();
      int before = 0, total = 0;
      for (int w = 0; w < warps; ++w) {
        const int c = warp_hits[w];
        before += w < warp ? c : 0;
        total += c;
      }
      if (hit) hits[before + __popc(ballot & ((1u << lane) - 1u))] = tid;
      // Two barriers a tile suffice: warp_hits is read before this one and rewritten only after it;
      // hits is read after it and rewritten only after the next tile's first barrier.
      __syncthreads();
      if (active) {
        const float* col = dy + base * D + j;
        for (int k = 0; k < total; ++k) acc += col[static_cast<int64_t>(hits[k]) * D];
      }
    }
    if (active) dtable[r * D + j] = acc;
  }
}

bool Aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

unsigned NextPow2(int64_t x) {
  unsigned p = 1;
  while (static_cast<int64_t>(p) < x && p < static_cast<unsigned>(kLookupThreads)) p <<= 1;
  return p;
}

}  // namespace

void TemporalLookupAdd(Stream stream, int64_t N, int64_t n_mark, const float* marks, int column, const float* table,
                       int64_t rows, int64_t D, float* out) {
  if (N <= 0 || D <= 0 || rows <= 0) return;
  // float4 when every row starts 16-byte aligned in both table and out.
  const bool vec = D % 4 == 0 && Aligned16(table) && Aligned16(out);
  const int64_t units = vec ? D / 4 : D;
  // A block is (x: a power of two covering a row's units, up to 256) x (y: rows), 256 threads, so
  // narrow rows (D 32 = 8 float4) still give full warps spanning several rows.
  const unsigned bx = NextPow2(units), by = kLookupThreads / bx;
  const dim3 block(bx, by);
  const dim3 grid(CeilDiv(units, bx), static_cast<unsigned>(std::min<int64_t>(CeilDiv(N, by), kMaxGridY)));
  if (vec) {
    Launch(TemporalLookupAddKernel<float4>, grid, block, 0, stream, N, n_mark, marks, column,
           reinterpret_cast<const float4*>(table), rows, units, reinterpret_cast<float4*>(out));
  } else {
    Launch(TemporalLookupAddKernel<float>, grid, block, 0, stream, N, n_mark, marks, column, table, rows, units, out);
  }
}

void TemporalLookupBackward(Stream stream, int64_t N, int64_t n_mark, const float* marks, int column, const float* dy,
                            int64_t rows, int64_t D, float* dtable) {
  if (N <= 0 || D <= 0 || rows <= 0) return;
  // Whole warps (the ballot needs all 32 lanes); no wider than D needs, up to 256 columns a block,
  // narrowed down to 64 while that is what it takes to have ~one block per SM (132 on an H100).
  int threads = static_cast<int>(std::min<int64_t>(kBackwardMaxThreads, CeilDiv(D, kWarpSize) * kWarpSize));
  while (threads > 2 * kWarpSize && threads % (2 * kWarpSize) == 0 && rows * CeilDiv(D, threads) < kTargetBlocks)
    threads /= 2;
  const dim3 grid(static_cast<unsigned>(rows),
                  static_cast<unsigned>(std::min<int64_t>(CeilDiv(D, threads), kMaxGridY)));
  Launch(TemporalLookupBackwardKernel, grid, dim3(threads), 0, stream, N, n_mark, marks, column, dy, rows, D, dtable);
}

}  // namespace informer::cuda
