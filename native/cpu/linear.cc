#include "cpu/linear.h"

#include "cpu/thread_pool.h"
#include "cpu/vecmath.h"

namespace informer {

void LinearForward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w, const float* b, float* y,
                   Activation act, const float* residual, const PackedB* packed, int64_t ldx, int64_t ldy) {
  if (ldx <= 0) ldx = in;
  if (ldy <= 0) ldy = out;
  GemmEpilogue ep;
  ep.bias = b;
  ep.act = act;
  ep.residual = residual;
  ep.ldr = out;
  if (packed) return sgemm_packed_b(rows, out, in, x, ldx, w, *packed, 0.f, y, ldy, ep, &ThreadPool::global());
  sgemm(false, true, rows, out, in, 1.f, x, ldx, w, in, 0.f, y, ldy, ep, &ThreadPool::global());
}

void AddColumnSums(int64_t rows, int64_t n, const float* dy, float* db) {
  if (AddColumnSumsVec(rows, n, dy, db)) return;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = dy + r * n;
    for (int64_t j = 0; j < n; ++j) db[j] += row[j];
  }
}

void LinearBackward(int64_t rows, int64_t in, int64_t out, const float* x, const float* w, const float* dy, float* dx,
                    bool accumulate_dx, float* dw, float* db) {
  ThreadPool* pool = &ThreadPool::global();
  if (dw) sgemm(true, false, out, in, rows, 1.f, dy, out, x, in, 1.f, dw, in, GemmEpilogue(), pool);
  if (db) AddColumnSums(rows, out, dy, db);
  if (dx)
    sgemm(false, false, rows, in, out, 1.f, dy, out, w, in, accumulate_dx ? 1.f : 0.f, dx, in, GemmEpilogue(), pool);
}

}  // namespace informer
