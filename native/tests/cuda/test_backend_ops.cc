// Every op of the Ops interface (base/ops.h), on every registered backend, against CpuOps (in the
// spirit of ggml's test-backend-ops): one table of cases, each a few buffers (inputs, and outputs with
// their initial contents, since many ops accumulate) and one call. A case runs on the CPU in host
// memory, then on each other backend in its own device memory (uploaded, run, downloaded), and every
// output must match: float outputs by normalised squared error, index and mask outputs exactly.
// Buffers start at odd offsets in their allocations, so vectorised kernels meet unaligned pointers.
// Built against the CUDA emulator (emu_test_backend_ops) and, in a CUDA build, the real GPU.
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "base/arena.h"
#include "base/device_buffer.h"
#include "base/ops.h"
#include "base/rng.h"
#include "cuda/backend.h"
#include "cuda_test_util.h"

namespace {

using informer::Activation;
using informer::AttentionShape;
using informer::HeadLayout;
using informer::Ops;

enum class Kind { kF32, kI32, kU8, kI64 };

size_t ElementSize(Kind k) { return k == Kind::kF32 || k == Kind::kI32 ? 4 : k == Kind::kU8 ? 1 : 8; }

struct Buffer {
  std::string name;
  Kind kind;
  std::vector<unsigned char> bytes;
  bool output;
  double nmse;  // float outputs: largest normalised squared error accepted
};

class Case {
 public:
  Case(std::string name, test::Rng& rng) : name_(std::move(name)), rng_(rng) {}

  // Inputs and outputs; an output starts with the given contents (accumulating ops add to them).
  int In(const char* name, const std::vector<float>& v) { return Add(name, Kind::kF32, v.data(), v.size(), false, 0); }
  int Out(const char* name, const std::vector<float>& v, double nmse = 1e-10) {
    return Add(name, Kind::kF32, v.data(), v.size(), true, nmse);
  }
  int InI32(const char* name, const std::vector<int32_t>& v) {
    return Add(name, Kind::kI32, v.data(), v.size(), false, 0);
  }
  int OutI32(const char* name, int64_t n) {
    return Add(name, Kind::kI32, std::vector<int32_t>(n, -7).data(), n, true, 0);
  }
  int InU8(const char* name, const std::vector<uint8_t>& v) {
    return Add(name, Kind::kU8, v.data(), v.size(), false, 0);
  }
  // Host memory on every device (BatchNorm's num_batches_tracked).
  int HostI64(const char* name, int64_t v) { return Add(name, Kind::kI64, &v, 1, true, 0); }

  std::vector<float> Normal(int64_t n, float s = 1.f) { return rng_.normal_vector(n, 0.f, s); }
  std::vector<float> Uniform(int64_t n, float lo, float hi) { return rng_.uniform_vector(n, lo, hi); }

  // The op: `p(i)` is buffer i on the backend that runs it. Returns a scalar result, compared too.
  using Pointers = std::function<void*(int)>;
  std::function<double(Ops&, const Pointers&)> call;
  double scalar_tol = 1e-12;

  const std::string& name() const { return name_; }
  std::vector<Buffer>& buffers() { return bufs_; }

 private:
  int Add(const char* name, Kind k, const void* data, size_t n, bool output, double nmse) {
    Buffer b{name, k, std::vector<unsigned char>(n * ElementSize(k)), output, nmse};
    if (n) std::memcpy(b.bytes.data(), data, b.bytes.size());
    bufs_.push_back(std::move(b));
    return static_cast<int>(bufs_.size()) - 1;
  }
  std::string name_;
  test::Rng& rng_;
  std::vector<Buffer> bufs_;
};

struct Result {
  std::vector<std::vector<unsigned char>> outputs;  // by buffer index (empty for inputs)
  double scalar = 0;
};

// Buffers start `shift` elements into their allocation (shift 1: not 16-byte aligned).
Result RunOnCpu(Case& c, Ops& ops, int shift) {
  std::vector<std::vector<unsigned char>> mem;
  for (Buffer& b : c.buffers()) {
    std::vector<unsigned char> m((b.bytes.size() / ElementSize(b.kind) + shift) * ElementSize(b.kind) + 64);
    std::memcpy(m.data() + shift * ElementSize(b.kind), b.bytes.data(), b.bytes.size());
    mem.push_back(std::move(m));
  }
  auto ptr = [&](int i) -> void* { return mem[i].data() + shift * ElementSize(c.buffers()[i].kind); };
  Result r;
  r.scalar = c.call(ops, ptr);
  for (size_t i = 0; i < c.buffers().size(); ++i) {
    const Buffer& b = c.buffers()[i];
    r.outputs.emplace_back(
        b.output ? std::vector<unsigned char>(mem[i].begin() + shift * ElementSize(b.kind),
                                              mem[i].begin() + shift * ElementSize(b.kind) + b.bytes.size())
                 : std::vector<unsigned char>());
  }
  return r;
}

Result RunOnDevice(Case& c, Ops& ops, int shift) {
  std::vector<informer::DeviceBuffer> dev(c.buffers().size());
  std::vector<std::vector<unsigned char>> host_i64;  // host-resident buffers
  for (size_t i = 0; i < c.buffers().size(); ++i) {
    Buffer& b = c.buffers()[i];
    if (b.kind == Kind::kI64) {
      host_i64.push_back(b.bytes);
      continue;
    }
    host_i64.emplace_back();
    const size_t es = ElementSize(b.kind);
    dev[i].Allocate(&ops, b.bytes.size() + shift * es + 64);
    if (!b.bytes.empty())
      ops.Upload(static_cast<unsigned char*>(dev[i].get()) + shift * es, b.bytes.data(), b.bytes.size());
  }
  auto ptr = [&](int i) -> void* {
    const Buffer& b = c.buffers()[i];
    if (b.kind == Kind::kI64) return host_i64[i].data();
    return static_cast<unsigned char*>(dev[i].get()) + shift * ElementSize(b.kind);
  };
  Result r;
  r.scalar = c.call(ops, ptr);
  const informer::Status st = ops.Check(c.name().c_str());
  CHECK_MSG(st.ok(), (c.name() + ": " + st.message()).c_str());
  for (size_t i = 0; i < c.buffers().size(); ++i) {
    const Buffer& b = c.buffers()[i];
    std::vector<unsigned char> out;
    if (b.output) {
      out.resize(b.bytes.size());
      if (b.kind == Kind::kI64)
        out = host_i64[i];
      else if (!out.empty())
        ops.Download(out.data(), ptr(static_cast<int>(i)), out.size());
    }
    r.outputs.push_back(std::move(out));
  }
  CHECK_MSG(ops.Check(c.name().c_str()).ok(), c.name().c_str());
  return r;
}

void Compare(Case& c, const Result& want, const Result& got, const std::string& backend) {
  for (size_t i = 0; i < c.buffers().size(); ++i) {
    const Buffer& b = c.buffers()[i];
    if (!b.output) continue;
    const std::string what = c.name() + " on " + backend + ": " + b.name;
    if (b.kind != Kind::kF32) {
      CHECK_MSG(want.outputs[i] == got.outputs[i], (what + " differs").c_str());
      continue;
    }
    const size_t n = b.bytes.size() / 4;
    const float* w = reinterpret_cast<const float*>(want.outputs[i].data());
    const float* g = reinterpret_cast<const float*>(got.outputs[i].data());
    double err = 0, norm = 0;
    bool finite = true;
    for (size_t j = 0; j < n; ++j) {
      finite = finite && std::isfinite(g[j]) == std::isfinite(w[j]);
      if (!std::isfinite(w[j])) continue;
      err += (static_cast<double>(g[j]) - w[j]) * (static_cast<double>(g[j]) - w[j]);
      norm += static_cast<double>(w[j]) * w[j];
    }
    const double nmse = norm > 0 ? err / norm : err;
    char msg[512];
    std::snprintf(msg, sizeof msg, "%s: NMSE %.3g > %.3g", what.c_str(), nmse, b.nmse);
    CHECK_MSG(finite && nmse <= b.nmse, msg);
  }
  char msg[512];
  std::snprintf(msg, sizeof msg, "%s on %s: result %.12g, CPU %.12g", c.name().c_str(), backend, got.scalar,
                want.scalar);
  CHECK_MSG(std::fabs(got.scalar - want.scalar) <= c.scalar_tol * std::max(1.0, std::fabs(want.scalar)), msg);
}

// ---- the table ----
// Shapes: the fixtures' (seed d_model 32, paper_small 64, paper 512), odd ones for the tails of
// vectorised loops, and, on a real GPU, the paper configuration's full sizes.

using Table = std::vector<std::function<Case(test::Rng&)>>;
#define F(i) static_cast<float*>(p(i))
#define CF(i) static_cast<const float*>(p(i))
#define I32(i) static_cast<int32_t*>(p(i))
#define U8(i) static_cast<uint8_t*>(p(i))

#ifdef INFORMER_CUDA_EMULATION
const std::vector<int64_t> kVectorSizes = {1, 3, 384, 1003};
const std::vector<std::vector<int64_t>> kLinearShapes = {{32 * 12, 32, 32}, {32 * 12, 32, 128}, {32 * 18, 32, 1},
                                                         {2 * 72, 64, 7},   {1, 1, 1},          {70, 33, 65}};
const std::vector<std::vector<int64_t>> kGemmShapes = {{37, 29, 45}, {1, 7, 3}, {64, 64, 64}};
const std::vector<std::vector<int64_t>> kConvShapes = {
    {32, 12, 1, 32}, {2, 48, 7, 64}, {3, 13, 7, 16}, {2, 1, 5, 3}, {3, 2, 4, 6}};
const std::vector<std::vector<int64_t>> kLayerNormShapes = {{12, 32}, {18, 64},  {9, 512},  {5, 7},   {7, 33},
                                                            {1, 1},   {2, 1500}, {2, 3000}, {2, 5000}};
const std::vector<std::vector<int64_t>> kBatchNormShapes = {{96, 32}, {48, 64}, {37, 7}, {50, 33}, {1, 5}, {130, 40}};
const std::vector<std::vector<int64_t>> kLookupShapes = {
    {4, 32, 32 * 12}, {7, 64, 2 * 96}, {13, 7, 101}, {32, 512, 140}, {4, 1, 300}};
const std::vector<std::vector<int64_t>> kAttentionShapes = {{2, 3, 10, 13, 8}, {2, 2, 12, 12, 8}, {1, 4, 24, 24, 16}};
#else
const std::vector<int64_t> kVectorSizes = {1, 3, 384, 1003, 32 * 96 * 512, 32 * 96 * 2048 + 3};
const std::vector<std::vector<int64_t>> kLinearShapes = {
    {32 * 12, 32, 128}, {2 * 72, 64, 7}, {70, 33, 65}, {32 * 96, 512, 2048}, {32 * 96, 2048, 512}};
const std::vector<std::vector<int64_t>> kGemmShapes = {{37, 29, 45}, {64, 64, 64}, {3072, 2048, 512}};
const std::vector<std::vector<int64_t>> kConvShapes = {
    {32, 12, 1, 32}, {3, 13, 7, 16}, {32, 96, 7, 512}, {32, 96, 512, 512}};
const std::vector<std::vector<int64_t>> kLayerNormShapes = {{12, 32},       {7, 33},         {2, 5000},
                                                            {32 * 96, 512}, {32 * 96, 2048}, {257, 4099}};
const std::vector<std::vector<int64_t>> kBatchNormShapes = {{37, 7}, {32 * 96, 512}, {1000, 999}};
const std::vector<std::vector<int64_t>> kLookupShapes = {
    {13, 7, 101}, {32, 512, 32 * 96}, {24, 2051, 777}, {7, 301, 70000}};
const std::vector<std::vector<int64_t>> kAttentionShapes = {
    {2, 3, 10, 13, 8}, {32, 8, 96, 96, 64}, {32, 8, 72, 48, 64}};
#endif

std::string Dims(const std::vector<int64_t>& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

Table Cases() {
  Table t;
  // memory
  t.push_back([](test::Rng& r) {
    Case c("Zero, Copy, CopyRows", r);
    const int src = c.In("src", c.Normal(7 * 13)), a = c.Out("zeroed", c.Normal(37)), b = c.Out("copy", c.Normal(91)),
              d = c.Out("rows", c.Normal(5 * 11));
    c.call = [=](Ops& o, const Case::Pointers& p) {
      o.Zero(F(a), 37);
      o.Copy(F(b), CF(src), 91);
      o.CopyRows(F(d), 11, CF(src) + 2, 13, 9, 5);
      return 0.0;
    };
    return c;
  });
  // element-wise (activations in place, and their backward with dx aliasing dy as the model calls it)
  for (int64_t n : kVectorSizes) {
    for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kGelu}) {
      t.push_back([act, n](test::Rng& r) {
        Case c("Activation " + std::to_string(static_cast<int>(act)) + " forward/backward n=" + std::to_string(n), r);
        const int pre = c.In("pre", c.Normal(n, 2.f)), dy = c.In("dy", c.Normal(n)), x = c.Out("x", c.Normal(n, 2.f)),
                  dx = c.Out("dx", c.Normal(n)), g = c.Out("dy, in place", c.Normal(n));
        c.call = [=](Ops& o, const Case::Pointers& p) {
          o.ActivationForward(act, n, F(x));
          o.ActivationBackward(act, n, CF(pre), CF(dy), F(dx));
          o.ActivationBackward(act, n, CF(pre), CF(g), F(g));
          return 0.0;
        };
        return c;
      });
    }
    t.push_back([n](test::Rng& r) {
      Case c("ELU forward/backward, Add n=" + std::to_string(n), r);
      const int x = c.In("x", c.Normal(n, 3.f)), dy = c.In("dy", c.Normal(n)), out = c.Out("out", c.Normal(n)),
                dx = c.Out("dx", c.Normal(n)), y = c.Out("y", c.Normal(n));
      c.call = [=](Ops& o, const Case::Pointers& p) {
        o.EluForward(n, CF(x), F(out));
        o.EluBackward(n, CF(x), CF(dy), F(dx));
        o.Add(n, CF(x), F(y));
        return 0.0;
      };
      return c;
    });
  }
  t.push_back([](test::Rng& r) {
    Case c("Add2D (strided rows, a broadcast bias row)", r);
    const int src = c.In("src", c.Normal(9 * 96)), dst = c.Out("dst", c.Normal(9 * 128)),
              row = c.In("row", c.Normal(33)), dst2 = c.Out("dst2", c.Normal(7 * 40)), a = c.In("a", c.Normal(70 * 7)),
              d3 = c.Out("d3", c.Normal(70 * 6));
    c.call = [=](Ops& o, const Case::Pointers& p) {
      o.Add2D(9, 64, CF(src), 96, F(dst), 128);
      o.Add2D(7, 33, CF(row), 0, F(dst2), 40);
      o.Add2D(70, 5, CF(a), 7, F(d3), 6);
      return 0.0;
    };
    return c;
  });
  t.push_back([](test::Rng& r) {
    // The masks are the backend's own (documented; test_cuda_dropout checks the GPU's); given a mask
    // the backward is the same everywhere, and p = 0 keeps everything.
    Case c("Dropout backward with a mask, forward with p = 0", r);
    const int n = 777;
    std::vector<uint8_t> keep(n);
    for (auto& k : keep) k = r.uniform(0, 1) < 0.7f ? 1 : 0;
    const int mask = c.InU8("keep", keep), dy = c.Out("dy", c.Normal(n)), x = c.Out("x", c.Normal(n));
    c.call = [=](Ops& o, const Case::Pointers& p) {
      o.DropoutBackward(n, 0.3f, U8(mask), F(dy));
      informer::Rng rng(5);
      o.DropoutForward(n, 0.f, &rng, F(x), nullptr, 0);
      return 0.0;
    };
    return c;
  });
#ifdef INFORMER_CUDA_EMULATION
  const std::vector<std::vector<int64_t>> pools = {{2, 1, 33},  {2, 2, 33},  {2, 3, 33},  {2, 4, 33}, {2, 7, 33},
                                                   {3, 12, 32}, {2, 13, 33}, {2, 18, 33}, {2, 96, 64}};
#else
  const std::vector<std::vector<int64_t>> pools = {{2, 7, 33}, {32, 96, 512}, {32, 47, 512}, {32, 12, 32}};
  // Large Add2D: the paper's bias broadcast and strided rows, and more row tiles than gridDim.y allows.
  for (const auto& d :
       std::vector<std::vector<int64_t>>{{32 * 96, 512, 0, 512}, {32 * 96, 512, 1536, 512}, {600000, 5, 0, 5}}) {
    t.push_back([d](test::Rng& r) {
      Case c("Add2D " + Dims(d), r);
      const int64_t rows = d[0], cols = d[1], sld = d[2], dld = d[3];
      const int src = c.In("src", c.Normal(sld == 0 ? cols : rows * sld)), dst = c.Out("dst", c.Normal(rows * dld));
      c.call = [=](Ops& o, const Case::Pointers& p) {
        o.Add2D(rows, cols, CF(src), sld, F(dst), dld);
        return 0.0;
      };
      return c;
    });
  }
#endif
  for (const auto& d : pools) {
    t.push_back([d](test::Rng& r) {
      const int64_t B = d[0], L = d[1], C = d[2], Lo = (L - 1) / 2 + 1;
      Case c("MaxPool3s2 forward/backward " + Dims(d), r);
      std::vector<float> x = c.Normal(B * L * C);
      if (L > 1) x[3] = x[3 + C];  // a tie: both backends pick the same (first) index
      const int xi = c.In("x", x), out = c.Out("out", c.Normal(B * Lo * C)), arg = c.OutI32("argmax", B * Lo * C),
                dy = c.In("dy", c.Normal(B * Lo * C)), dx = c.Out("dx", c.Normal(B * L * C));
      c.call = [=](Ops& o, const Case::Pointers& p) {
        o.MaxPool3s2Forward(B, L, C, CF(xi), F(out), I32(arg));
        o.MaxPool3s2Backward(B, L, C, I32(arg), CF(dy), F(dx));
        return 0.0;
      };
      return c;
    });
  }
  // dense
  for (const auto& d : kGemmShapes) {
    for (int variant = 0; variant < 4; ++variant) {
      t.push_back([variant, d](test::Rng& r) {
        const bool ta = variant & 1, tb = variant & 2;
        const int64_t M = d[0], N = d[1], K = d[2];
        Case c(std::string("Sgemm ") + (ta ? "T" : "N") + (tb ? "T" : "N") + " " + Dims(d) +
                   " with bias, GELU, residual, beta",
               r);
        const int a = c.In("A", c.Normal(M * K)), b = c.In("B", c.Normal(K * N)), bias = c.In("bias", c.Normal(N)),
                  res = c.In("residual", c.Normal(M * N)), cc = c.Out("C", c.Normal(M * N), 1e-9);
        c.call = [=](Ops& o, const Case::Pointers& p) {
          informer::GemmEpilogue ep;
          ep.bias = CF(bias), ep.act = Activation::kGelu, ep.residual = CF(res), ep.ldr = N;
          o.Sgemm(ta, tb, M, N, K, 0.7f, CF(a), ta ? M : K, CF(b), tb ? K : N, 0.3f, F(cc), N, ep);
          return 0.0;
        };
        return c;
      });
    }
  }
  for (const auto& d : kLinearShapes) {
    for (Activation act : {Activation::kNone, Activation::kGelu, Activation::kRelu}) {
      t.push_back([d, act](test::Rng& r) {
        const int64_t rows = d[0], in = d[1], out = d[2];
        const bool residual = act != Activation::kNone;
        Case c("Linear " + Dims(d) + " activation " + std::to_string(static_cast<int>(act)) +
                   (residual ? " residual" : ""),
               r);
        const int x = c.In("x", c.Normal(rows * in)), w = c.In("w", c.Normal(out * in, 0.3f)),
                  b = c.In("b", c.Normal(out)), res = c.In("residual", c.Normal(rows * out)),
                  y = c.Out("y", c.Normal(rows * out), 1e-9), dy = c.In("dy", c.Normal(rows * out)),
                  dx = c.Out("dx (written)", c.Normal(rows * in), 1e-9),
                  dx2 = c.Out("dx (accumulated)", c.Normal(rows * in), 1e-9),
                  dw = c.Out("dw", c.Normal(out * in), 1e-9), db = c.Out("db", c.Normal(out), 1e-9);
        c.call = [=](Ops& o, const Case::Pointers& p) {
          o.LinearForward(rows, in, out, CF(x), CF(w), CF(b), F(y), act, residual ? CF(res) : nullptr);
          o.LinearBackward(rows, in, out, CF(x), CF(w), CF(dy), F(dx), false, F(dw), F(db));
          o.LinearBackward(rows, in, out, CF(x), CF(w), CF(dy), F(dx2), true, F(dw), nullptr);
          return 0.0;
        };
        return c;
      });
    }
  }
  // {rows, in, hidden}: a hidden width the CPU pads (a multiple of 1024) and one it does not.
  for (const auto& d : std::vector<std::vector<int64_t>>{{5, 16, 1024}, {30, 24, 2048}, {9, 24, 40}}) {
    t.push_back([d](test::Rng& r) {
      const int64_t rows = d[0], in = d[1], hidden = d[2];
      Case c("Feed-forward (inference) " + Dims(d), r);
      // Scratch for the widest hidden row any backend uses; its layout is the backend's own.
      const int x = c.In("x", c.Normal(rows * in)), w1 = c.In("w1", c.Normal(hidden * in, 0.3f)),
                b1 = c.In("b1", c.Normal(hidden)), w2 = c.In("w2", c.Normal(in * hidden, 0.05f)),
                b2 = c.In("b2", c.Normal(in)), scratch = c.In("scratch", c.Normal(rows * (hidden + 64))),
                y = c.Out("y", c.Normal(rows * in), 1e-9), y2 = c.Out("y, two Linears", c.Normal(rows * in), 1e-9);
      c.call = [=](Ops& o, const Case::Pointers& p) {
        CHECK_MSG(o.HiddenStride(hidden) >= hidden && o.HiddenStride(hidden) <= hidden + 64, "hidden stride");
        o.FeedForwardForward(rows, in, hidden, CF(x), CF(w1), CF(b1), CF(w2), CF(b2), Activation::kGelu, F(scratch),
                             F(y), CF(x));
        o.LinearForward(rows, in, hidden, CF(x), CF(w1), CF(b1), F(scratch), Activation::kGelu, nullptr);
        o.LinearForward(rows, hidden, in, CF(scratch), CF(w2), CF(b2), F(y2), Activation::kNone, CF(x));
        // On the CPU (host memory) the padded layout gives the two Linears' result bit for bit.
        if (o.device() == informer::Device::kCpu)
          CHECK_MSG(std::memcmp(CF(y), CF(y2), rows * in * sizeof(float)) == 0, "feed-forward equals two Linears");
        return 0.0;
      };
      return c;
    });
  }
  for (const auto& d : kConvShapes) {
    t.push_back([d](test::Rng& r) {
      const int64_t B = d[0], L = d[1], Ci = d[2], Co = d[3];
      Case c("Circular conv3 (im2col) forward/backward " + Dims(d), r);
      const int x = c.In("x", c.Normal(B * L * Ci)), w = c.In("w", c.Normal(Co * Ci * 3, 0.3f)),
                b = c.In("b", c.Normal(Co)), cols = c.Out("cols", c.Normal(B * L * Ci * 3)),
                out = c.Out("out", c.Normal(B * L * Co), 1e-9), dy = c.In("dy", c.Normal(B * L * Co)),
                dcols = c.Out("d_cols", c.Normal(B * L * Ci * 3), 1e-9), dx = c.Out("dx", c.Normal(B * L * Ci), 1e-9),
                dw = c.Out("dw", c.Normal(Co * Ci * 3), 1e-9), db = c.Out("db", c.Normal(Co), 1e-9),
                cols2 = c.Out("im2col", c.Normal(B * L * Ci * 3));
      c.call = [=](Ops& o, const Case::Pointers& p) {
        o.CircularIm2Col3(B, L, Ci, CF(x), F(cols2));
        o.CircularConv3Forward(B, L, Ci, Co, CF(x), CF(w), CF(b), F(cols), F(out));
        o.CircularConv3Backward(B, L, Ci, Co, CF(cols2), CF(w), CF(dy), F(dcols), F(dx), F(dw), F(db));
        return 0.0;
      };
      return c;
    });
  }
  // normalisation
  for (const auto& d : kLayerNormShapes) {
    t.push_back([d](test::Rng& r) {
      const int64_t rows = d[0], D = d[1];
      Case c("LayerNorm forward/backward " + Dims(d), r);
      const int x = c.In("x", c.Normal(rows * D, 2.f)), g = c.In("gamma", c.Normal(D)), be = c.In("beta", c.Normal(D)),
                out = c.Out("out", c.Normal(rows * D), 1e-10), mean = c.Out("mean", c.Normal(rows)),
                rstd = c.Out("rstd", c.Normal(rows), 1e-10), dy = c.In("dy", c.Normal(rows * D)),
                dx = c.Out("dx", c.Normal(rows * D), 1e-9), dg = c.Out("dgamma", c.Normal(D), 1e-9),
                db = c.Out("dbeta", c.Normal(D), 1e-9);
      c.call = [=](Ops& o, const Case::Pointers& p) {
        o.LayerNormForward(rows, D, CF(x), CF(g), CF(be), F(out), F(mean), F(rstd));
        o.LayerNormBackward(rows, D, CF(x), CF(g), CF(mean), CF(rstd), CF(dy), F(dx), F(dg), F(db));
        return 0.0;
      };
      return c;
    });
  }
  for (const auto& d : kBatchNormShapes) {
    for (bool train : {true, false}) {
      t.push_back([d, train](test::Rng& r) {
        const int64_t N = d[0], C = d[1];
        Case c(std::string("BatchNorm forward/backward, ") + (train ? "train " : "eval ") + Dims(d), r);
        const int x = c.In("x", c.Normal(N * C, 2.f)), g = c.In("gamma", c.Normal(C)), be = c.In("beta", c.Normal(C)),
                  rm = c.Out("running_mean", c.Normal(C)), rv = c.Out("running_var", c.Uniform(C, 0.5f, 2.f)),
                  nbt = c.HostI64("num_batches_tracked", 3), out = c.Out("out", c.Normal(N * C), 1e-10),
                  mean = c.Out("mean", c.Normal(C), 1e-10), rstd = c.Out("rstd", c.Normal(C), 1e-10),
                  dy = c.In("dy", c.Normal(N * C)), dx = c.Out("dx", c.Normal(N * C), 1e-9),
                  dg = c.Out("dgamma", c.Normal(C), 1e-9), db = c.Out("dbeta", c.Normal(C), 1e-9);
        c.call = [=](Ops& o, const Case::Pointers& p) {
          o.BatchNormForward(N, C, CF(x), CF(g), CF(be), F(rm), F(rv), static_cast<int64_t*>(p(nbt)), train, F(out),
                             F(mean), F(rstd));
          o.BatchNormBackward(N, C, CF(x), CF(g), CF(mean), CF(rstd), train, CF(dy), F(dx), F(dg), F(db));
          return 0.0;
        };
        return c;
      });
    }
  }
  // embedding: the model's tables (minute 4, weekday 7, month 13, hour 24, day 32) at fixture widths
  for (const auto& d : kLookupShapes) {
    t.push_back([d](test::Rng& r) {
      const int64_t rows = d[0], D = d[1], N = d[2], n_mark = 4;
      const int column = 2;
      Case c("Temporal lookup add/backward " + Dims(d), r);
      std::vector<float> marks(N * n_mark);
      for (float& m : marks) m = static_cast<float>(r.integer(0, rows - 1)) + r.uniform(0.f, 0.9f);  // truncated
      const int mk = c.In("marks", marks), table = c.In("table", c.Normal(rows * D)),
                out = c.Out("out", c.Normal(N * D)), dy = c.In("dy", c.Normal(N * D)),
                dt = c.Out("dtable", c.Normal(rows * D), 1e-10);
      c.call = [=](Ops& o, const Case::Pointers& p) {
        o.TemporalLookupAdd(N, n_mark, CF(mk), column, CF(table), rows, D, F(out));
        o.TemporalLookupBackward(N, n_mark, CF(mk), column, CF(dy), rows, D, F(dt));
        return 0.0;
      };
      return c;
    });
  }
  // attention
  for (const auto& d : kAttentionShapes) {
    for (int variant = 0; variant < 4; ++variant) {
      t.push_back([variant, d](test::Rng& r) {
        const bool causal = (variant & 1) && d[2] == d[3], head_major_out = variant & 2;
        const AttentionShape s{d[0], d[1], d[2], d[3], d[4]};
        Case c("Full attention forward/backward " + Dims(d) + (causal ? ", causal" : "") +
                   (head_major_out ? ", mix layout" : ""),
               r);
        const int64_t D = s.H * s.d;
        const HeadLayout lq = HeadLayout::RowMajor(s.Lq, s.H, s.d), lk = HeadLayout::RowMajor(s.Lk, s.H, s.d);
        const HeadLayout lo = head_major_out ? HeadLayout::HeadMajor(s.Lq, s.H, s.d) : lq;
        const int q = c.In("q", c.Normal(s.B * s.Lq * D)), k = c.In("k", c.Normal(s.B * s.Lk * D)),
                  v = c.In("v", c.Normal(s.B * s.Lk * D)), out = c.Out("out", c.Normal(s.B * s.Lq * D), 1e-10),
                  probs = c.Out("probs", c.Normal(s.B * s.H * s.Lq * s.Lk), 1e-10),
                  dout = c.In("d_out", c.Normal(s.B * s.Lq * D)), dq = c.Out("dq", c.Normal(s.B * s.Lq * D), 1e-9),
                  dk = c.Out("dk", c.Normal(s.B * s.Lk * D), 1e-9), dv = c.Out("dv", c.Normal(s.B * s.Lk * D), 1e-9),
                  streamed = c.Out("out without probs", c.Normal(s.B * s.Lq * D), 1e-10);
        c.call = [=](Ops& o, const Case::Pointers& p) {
          const float scale = 1.f / std::sqrt(static_cast<float>(s.d));
          o.FullAttentionForward(s, CF(q), CF(k), CF(v), lq, lk, F(out), lo, causal, scale, 0.f, nullptr, F(probs),
                                 nullptr, 0);
          o.FullAttentionForward(s, CF(q), CF(k), CF(v), lq, lk, F(streamed), lo, causal, scale, 0.f, nullptr, nullptr,
                                 nullptr, 0);
          o.FullAttentionBackward(s, CF(q), CF(k), CF(v), lq, lk, CF(dout), lo, scale, 0.f, CF(probs), nullptr, F(dq),
                                  F(dk), F(dv));
          return 0.0;
        };
        return c;
      });
    }
    for (bool masked : {false, true}) {
      if (masked && d[2] != d[3]) continue;  // the cumsum of V needs Lq == Lk
      t.push_back([masked, d](test::Rng& r) {
        const AttentionShape s{d[0], d[1], d[2], d[3], d[4]};
        Case c(std::string("ProbSparse attention forward/backward ") + Dims(d) + (masked ? ", masked" : ""), r);
        const int64_t D = s.H * s.d;
        const int64_t U =
            std::min<int64_t>(s.Lk, 5 * static_cast<int64_t>(std::ceil(std::log(static_cast<double>(s.Lk)))));
        const int64_t u =
            std::min<int64_t>(s.Lq, 5 * static_cast<int64_t>(std::ceil(std::log(static_cast<double>(s.Lq)))));
        const HeadLayout lq = HeadLayout::RowMajor(s.Lq, s.H, s.d), lk = HeadLayout::RowMajor(s.Lk, s.H, s.d);
        std::vector<int32_t> sample(s.Lq * U);
        for (int32_t& x : sample) x = static_cast<int32_t>(r.integer(0, s.Lk - 1));
        const int q = c.In("q", c.Normal(s.B * s.Lq * D)), k = c.In("k", c.Normal(s.B * s.Lk * D)),
                  v = c.In("v", c.Normal(s.B * s.Lk * D)), smp = c.InI32("sample", sample),
                  out = c.Out("out", c.Normal(s.B * s.Lq * D), 1e-10), top = c.OutI32("top", s.B * s.H * u),
                  probs = c.Out("probs", c.Normal(s.B * s.H * u * s.Lk), 1e-10),
                  dout = c.In("d_out", c.Normal(s.B * s.Lq * D)), dq = c.Out("dq", c.Normal(s.B * s.Lq * D), 1e-9),
                  dk = c.Out("dk", c.Normal(s.B * s.Lk * D), 1e-9), dv = c.Out("dv", c.Normal(s.B * s.Lk * D), 1e-9);
        c.call = [=](Ops& o, const Case::Pointers& p) {
          const float scale = 1.f / std::sqrt(static_cast<float>(s.d));
          o.ProbAttentionForward(s, CF(q), CF(k), CF(v), lq, lk, F(out), lq, masked, scale,
                                 static_cast<const int32_t*>(p(smp)), U, u, I32(top), F(probs));
          o.ProbAttentionBackward(s, CF(q), CF(k), CF(v), lq, lk, CF(dout), lq, masked, scale, u,
                                  static_cast<const int32_t*>(p(top)), CF(probs), F(dq), F(dk), F(dv));
          return 0.0;
        };
        return c;
      });
    }
  }
  // instance normalisation of the windows (RevIN, last value)
  for (const std::vector<int64_t>& d : std::vector<std::vector<int64_t>>{{2, 12, 6, 3}, {3, 96, 72, 7}, {1, 5, 5, 1}}) {
    for (auto kind : {informer::WindowStatsKind::kMeanStd, informer::WindowStatsKind::kLast}) {
      for (bool affine : {true, false}) {
        t.push_back([d, kind, affine](test::Rng& r) {
          const int64_t B = d[0], L = d[1], L_norm = d[2], C = d[3], C_out = C > 1 ? C - 1 : 1;
          Case c(std::string("Window stats, instance norm/denorm forward/backward, ") +
                     (kind == informer::WindowStatsKind::kLast ? "last" : "mean/std") + (affine ? ", affine " : " ") +
                     Dims(d),
                 r);
          const int x = c.In("x", c.Normal(B * L * C, 3.f)), w = c.In("weight", c.Uniform(C, 0.5f, 1.5f)),
                    bias = c.In("bias", c.Normal(C)), center = c.Out("center", c.Normal(B * C), 1e-10),
                    scale = c.Out("scale", c.Normal(B * C), 1e-10), out = c.Out("out", c.Normal(B * L * C), 1e-10),
                    dy = c.In("dy", c.Normal(B * L * C)), dw = c.Out("d_weight", c.Normal(C), 1e-9),
                    db = c.Out("d_bias", c.Normal(C), 1e-9), y = c.In("y", c.Normal(B * L * C_out)),
                    dout = c.In("d_out", c.Normal(B * L * C_out)),
                    den = c.Out("denorm", c.Normal(B * L * C_out), 1e-10),
                    dden = c.Out("d_y", c.Normal(B * L * C_out), 1e-10);
          c.call = [=](Ops& o, const Case::Pointers& p) {
            const float* W = affine ? CF(w) : nullptr;
            const float* Bi = affine ? CF(bias) : nullptr;
            o.WindowStatsForward(kind, B, L, C, CF(x), F(center), F(scale));
            o.InstanceNormForward(B, L, L_norm, C, CF(x), CF(center), CF(scale), W, Bi, F(out));
            if (affine) o.InstanceNormBackward(B, L, L_norm, C, CF(x), CF(center), CF(scale), CF(dy), F(dw), F(db));
            o.InstanceDenormForward(B, L, C_out, C, CF(y), CF(center), CF(scale), W, Bi, F(den));
            o.InstanceDenormBackward(B, L, C_out, C, CF(y), CF(center), CF(scale), W, Bi, CF(dout), F(dden),
                                     affine ? F(dw) : nullptr, affine ? F(db) : nullptr);
            return 0.0;
          };
          return c;
        });
      }
    }
  }
  // loss and optimiser
  for (int64_t n : kVectorSizes) {
    for (float wd : {0.f, 0.01f}) {
      t.push_back([n, wd](test::Rng& r) {
        Case c("MSE forward/backward, Adam (weight decay " + std::to_string(wd) + ") n=" + std::to_string(n), r);
        const int pred = c.In("pred", c.Normal(n)), target = c.In("target", c.Normal(n)),
                  d = c.Out("d_pred", c.Normal(n), 1e-12), grad = c.In("grad", c.Normal(n)),
                  param = c.Out("param", c.Normal(n), 1e-12), m = c.Out("m", c.Normal(n, 0.1f), 1e-12),
                  v = c.Out("v", c.Uniform(n, 0.f, 0.1f), 1e-12);
        c.scalar_tol = 1e-9;
        c.call = [=](Ops& o, const Case::Pointers& p) {
          informer::AdamConfig a;
          a.lr = 1e-3f, a.weight_decay = wd;
          o.AdamUpdate(n, a, 7, CF(grad), F(param), F(m), F(v));
          return o.MseForwardBackward(n, CF(pred), CF(target), F(d));
        };
        return c;
      });
    }
  }
  return t;
}

#undef F
#undef CF
#undef I32
#undef U8

void* ArenaAlloc(void* ctx, size_t bytes) { return static_cast<Ops*>(ctx)->Malloc(bytes); }
void ArenaFree(void* ctx, void* p) { static_cast<Ops*>(ctx)->Free(p); }

}  // namespace

int main() {
  informer::cuda::RegisterBackend();
  const informer::BackendProvider* cuda = informer::FindBackend(informer::Device::kCuda);
  if (test::no_device("test_backend_ops")) return 77;
  informer::Arena cpu_arena, dev_arena;
  std::unique_ptr<Ops> cpu = informer::MakeCpuOps(&cpu_arena);
  std::unique_ptr<Ops> dev = cuda->make(&dev_arena);
  dev_arena.SetAllocator({ArenaAlloc, ArenaFree, dev.get()});
  int cases = 0;
  for (const auto& make : Cases()) {
    for (int shift : {0, 1}) {
      // The same seed for both runs: the case is built twice, identically.
      test::Rng r1(1234 + cases), r2(1234 + cases);
      Case on_cpu = make(r1), on_dev = make(r2);
      const Result want = RunOnCpu(on_cpu, *cpu, shift);
      const Result got = RunOnDevice(on_dev, *dev, shift);
      Compare(on_cpu, want, got, "cuda, shift " + std::to_string(shift));
    }
    ++cases;
  }
  dev_arena.SetAllocator({});  // its device blocks go back while the device Ops still exists
  std::printf("test_backend_ops: %d cases of the Ops interface, CPU vs CUDA\n", cases);
  return test::finish("test_backend_ops");
}
