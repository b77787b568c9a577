// Standalone GPU benchmark of the CUDA backend (no Node.js needed): the paper configuration's
// training step and eval forward on the GPU and on the CPU, and the ProbSparse and full attention
// forward kernels as the sequence grows. Prints markdown tables (and --json FILE); exits 1 on any
// CUDA or model error, so a broken GPU run cannot pass for a slow one.
//
//   bench_cuda [--quick] [--reps N] [--cpu-reps N] [--skip-cpu] [--gemm-precision fp32|tf32|bf16] [--json FILE]
//
// --quick shrinks every shape and runs each measurement once: it proves the code paths end to end
// (the emulated build, emu_bench_cuda, runs it on machines without a GPU); its times mean nothing.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "base/config.h"
#include "model/model.h"
#include "cpu/thread_pool.h"
#include "cuda/attention.h"
#include "cuda/backend.h"
#include "cuda/gemm.h"
#include "cuda/runtime.h"

namespace {

using informer::Status;
using Clock = std::chrono::steady_clock;

struct Options {
  bool quick = false;
  bool skip_cpu = false;
  int reps = 20;     // GPU repetitions per measurement (the train step does half)
  int cpu_reps = 3;  // the CPU paper train step takes about a second
  int gpu_warmup = 3, cpu_warmup = 1;
  int train_reps() const { return std::max(1, reps / 2); }
  std::string json_path;
};

// Any failure ends the benchmark: later numbers would be measured on a device in an unknown state.
void Require(const Status& st, const std::string& what) {
  if (st.ok()) return;
  std::fprintf(stderr, "bench_cuda: FAILED %s: %s\n", what.c_str(), st.message().c_str());
  std::exit(1);
}

double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double ElapsedMs(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

struct Timing {
  double median_ms = NAN;
  int reps = 0;
};

// A measurement stops early after kBudgetMs (with at least kMinReps), so one slow kernel cannot eat
// the GPU session's time; the reps actually taken are reported.
constexpr double kBudgetMs = 5000;
constexpr int kMinReps = 3;

// Median wall time of `once`, which must return only after the device is idle (the model's calls
// do: a forward copies its forecast to the host, a train step synchronises its stream at the end).
Timing TimeCalls(int warmup, int reps, const std::function<Status()>& once, const std::string& what) {
  for (int i = 0; i < warmup; ++i) Require(once(), what + " (warm-up)");
  std::vector<double> ms;
  double total = 0;
  for (int i = 0; i < reps && (i < kMinReps || total < kBudgetMs); ++i) {
    const Clock::time_point t0 = Clock::now();
    Require(once(), what);
    ms.push_back(ElapsedMs(t0));
    total += ms.back();
  }
  return {Median(ms), static_cast<int>(ms.size())};
}

// Median time per launch of an asynchronous kernel launcher on the legacy default stream. Short
// kernels are launched `inner` times back to back per synchronisation (enough for ~2 ms), so the
// host's launch and synchronisation latency is spread over many launches instead of timed.
Timing TimeKernel(const Options& o, int reps, const std::function<void()>& launch, const std::string& what) {
  auto run = [&](int n) {
    const Clock::time_point t0 = Clock::now();
    for (int i = 0; i < n; ++i) launch();
    Require(informer::cuda::LastError(what.c_str()), what + " (launch)");
    Require(informer::cuda::Synchronize(nullptr, what.c_str()), what);
    return ElapsedMs(t0);
  };
  run(1);  // warm-up: first-launch costs, and any launch-configuration error surfaces here
  int inner = 1;
  if (!o.quick) {
    const double single = std::max(run(1), 1e-3);
    inner = static_cast<int>(std::min(200.0, std::max(1.0, std::ceil(2.0 / single))));
  }
  std::vector<double> ms;
  double total = 0;
  for (int i = 0; i < reps && (i < kMinReps || total < kBudgetMs); ++i) {
    const double batch = run(inner);
    total += batch;
    ms.push_back(batch / inner);
  }
  return {Median(ms), static_cast<int>(ms.size())};
}

// ---- the model -------------------------------------------------------------------------------

struct Batch {
  int64_t B = 0;
  std::vector<float> x_enc, mark_enc, x_dec, mark_dec, target;
  informer::ForwardInput in() const { return {B, x_enc.data(), mark_enc.data(), x_dec.data(), mark_dec.data()}; }
};

// Standard-normal values, time features uniform in [-0.5, 0.5] as timeF produces them, and the
// decoder's placeholder steps zero as the reference's data loader leaves them.
Batch MakeBatch(const informer::ModelConfig& c, int64_t B, uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> mark(-0.5f, 0.5f);
  auto fill = [&](size_t n, bool is_mark) {
    std::vector<float> v(n);
    for (float& x : v) x = is_mark ? mark(gen) : normal(gen);
    return v;
  };
  const int64_t Le = c.seq_len, Ld = c.dec_len();
  Batch b;
  b.B = B;
  b.x_enc = fill(B * Le * c.enc_in, false);
  b.mark_enc = fill(B * Le * c.n_mark, true);
  b.x_dec = fill(B * Ld * c.dec_in, false);
  for (int64_t i = 0; i < B; ++i)
    std::fill_n(b.x_dec.begin() + (i * Ld + c.label_len) * c.dec_in, c.pred_len * c.dec_in, 0.f);
  b.mark_dec = fill(B * Ld * c.n_mark, true);
  b.target = fill(B * c.pred_len * c.c_out, false);
  return b;
}

// The paper configuration (ModelConfig's defaults), or a tiny one for --quick.
informer::ModelConfig BenchConfig(bool quick) {
  informer::ModelConfig c;
  c.seed = 1;
  if (quick) {
    c.seq_len = 24, c.label_len = 12, c.pred_len = 6;
    c.enc_in = c.dec_in = c.c_out = 3;
    c.d_model = 32, c.n_heads = 4, c.d_ff = 64;
  }
  return c;
}

struct ModelRow {
  std::string name;
  int64_t batch;
  Timing gpu, cpu;
};

struct ModelResults {
  std::vector<ModelRow> rows;
  int64_t check_batch = 0;
  double check_max_abs_diff = NAN, check_max_abs_out = NAN;  // GPU vs CPU eval forecast
};

std::unique_ptr<informer::Model> CreateModel(const informer::ModelConfig& c, informer::Device device) {
  std::unique_ptr<informer::Model> m;
  Require(informer::Model::Create(c, &m), "Model::Create");
  if (device == informer::Device::kCuda) Require(m->SetDevice(device), "Model::SetDevice(cuda)");
  return m;
}

// Eval forwards first (both devices start from the same seeded weights, so their forecasts must
// agree), then training steps. Returns the forecast of the first eval batch.
std::vector<float> BenchModelOn(const Options& o, informer::Device device, const informer::ModelConfig& c,
                                const std::vector<Batch>& eval_batches, const Batch& train_batch,
                                ModelResults* results) {
  const bool gpu = device == informer::Device::kCuda;
  const char* dev = gpu ? "gpu" : "cpu";
  std::unique_ptr<informer::Model> model = CreateModel(c, device);
  const int warmup = gpu ? o.gpu_warmup : o.cpu_warmup;
  const int reps = gpu ? o.reps : o.cpu_reps;
  std::vector<float> first_out;

  for (const Batch& b : eval_batches) {
    std::vector<float> out(static_cast<size_t>(b.B * c.pred_len * c.c_out));
    informer::ForwardOptions eval;  // eval mode, deterministic key samples
    const std::string what = std::string(dev) + " forward, batch " + std::to_string(b.B);
    const Timing t = TimeCalls(
        warmup, reps, [&] { return model->Forward(b.in(), eval, out.data()); }, what);
    for (float x : out)
      if (!std::isfinite(x)) Require(informer::InvalidValue("non-finite forecast"), what);
    if (first_out.empty()) first_out = out;
    ModelRow* row = nullptr;
    for (ModelRow& r : results->rows)
      if (r.name == "forward (eval)" && r.batch == b.B) row = &r;
    if (!row) {
      results->rows.push_back({"forward (eval)", b.B, {}, {}});
      row = &results->rows.back();
    }
    (gpu ? row->gpu : row->cpu) = t;
  }

  informer::ForwardOptions train;
  train.train = true;         // dropout 0.05, batch statistics, fresh key samples per pass
  informer::AdamConfig adam;  // lr 1e-4, as the reference trains
  double loss = 0;
  const std::string what = std::string(dev) + " train step, batch " + std::to_string(train_batch.B);
  const int train_reps = gpu ? o.train_reps() : o.cpu_reps;
  const Timing t = TimeCalls(
      warmup, train_reps,
      [&] {
        Status st = model->TrainStep(train_batch.in(), train_batch.target.data(), train, adam, &loss);
        if (st.ok() && !std::isfinite(loss)) st = informer::InvalidValue("non-finite loss");
        return st;
      },
      what);
  ModelRow* row = nullptr;
  for (ModelRow& r : results->rows)
    if (r.name == "train step (MSE + Adam)" && r.batch == train_batch.B) row = &r;
  if (!row) {
    results->rows.insert(results->rows.begin(), {"train step (MSE + Adam)", train_batch.B, {}, {}});
    row = &results->rows.front();
  }
  (gpu ? row->gpu : row->cpu) = t;
  std::fprintf(stderr, "bench_cuda: %s done (last loss %.4f)\n", dev, loss);
  return first_out;
}

ModelResults BenchModel(const Options& o, const informer::ModelConfig& c) {
  const int64_t big = o.quick ? 2 : 32;
  const std::vector<Batch> eval_batches = {MakeBatch(c, big, 11), MakeBatch(c, 1, 12)};
  const Batch train_batch = MakeBatch(c, big, 13);
  ModelResults r;
  const std::vector<float> gpu_out = BenchModelOn(o, informer::Device::kCuda, c, eval_batches, train_batch, &r);
  if (!o.skip_cpu) {
    const std::vector<float> cpu_out = BenchModelOn(o, informer::Device::kCpu, c, eval_batches, train_batch, &r);
    r.check_batch = big;
    r.check_max_abs_diff = 0, r.check_max_abs_out = 0;
    for (size_t i = 0; i < cpu_out.size(); ++i) {
      r.check_max_abs_diff = std::max(r.check_max_abs_diff, static_cast<double>(std::fabs(gpu_out[i] - cpu_out[i])));
      r.check_max_abs_out = std::max(r.check_max_abs_out, static_cast<double>(std::fabs(cpu_out[i])));
    }
  }
  return r;
}

// ---- attention kernels ------------------------------------------------------------------------

struct AttentionRow {
  int64_t B, L, U, u;
  Timing full, prob;
};

struct AttentionResults {
  int64_t H, d;
  int factor;
  std::vector<AttentionRow> rows;
};

// A device array of n values uniform in [-sqrt(3), sqrt(3)) (unit variance, like the projections).
informer::DeviceBuffer RandomDeviceFloats(int64_t n, uint32_t seed) {
  std::vector<float> host(static_cast<size_t>(n));
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.7320508f, 1.7320508f);
  for (float& x : host) x = dist(gen);
  informer::DeviceBuffer buf;
  Require(buf.Resize(informer::cuda::RuntimeAllocator(), host.size() * sizeof(float)), "alloc attention input");
  Require(informer::cuda::CopyToDevice(buf.get(), host.data(), host.size() * sizeof(float), nullptr),
          "upload attention input");
  Require(informer::cuda::Synchronize(nullptr, "upload attention input"), "upload attention input");
  return buf;
}

// Self-attention as in the encoder (unmasked, heads side by side in [B, L, H*d]), inference: no
// probabilities kept, no dropout. ProbSparse draws one [L, U] key sample, as the model would.
AttentionResults BenchAttention(const Options& o) {
  AttentionResults r;
  r.H = o.quick ? 2 : 8;
  r.d = o.quick ? 16 : 64;
  r.factor = 5;
  const std::vector<int64_t> lengths =
      o.quick ? std::vector<int64_t>{24, 64} : std::vector<int64_t>{96, 256, 512, 1024, 2048, 4096, 8192};
  const std::vector<int64_t> batches = o.quick ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 8};
  const int64_t max_n =
      *std::max_element(batches.begin(), batches.end()) * *std::max_element(lengths.begin(), lengths.end()) * r.H * r.d;
  // Every shape reads a prefix of the same buffers: a [B, L, H*d] tensor is any B*L*H*d floats.
  const informer::DeviceBuffer q = RandomDeviceFloats(max_n, 21), k = RandomDeviceFloats(max_n, 22),
                               v = RandomDeviceFloats(max_n, 23);
  informer::DeviceBuffer out, ws, sample;
  Require(out.Resize(informer::cuda::RuntimeAllocator(), max_n * sizeof(float)), "alloc attention output");
  const int reps = o.reps;
  const float scale = 1.f / std::sqrt(static_cast<float>(r.d));
  std::mt19937 gen(31);

  for (int64_t B : batches)
    for (int64_t L : lengths) {
      const informer::AttentionShape s{B, r.H, L, L, r.d};
      const informer::HeadLayout layout = informer::HeadLayout::RowMajor(L, r.H, r.d);
      const int64_t U = informer::ProbBudget(r.factor, static_cast<int>(L));
      const int64_t u = informer::ProbBudget(r.factor, static_cast<int>(L));
      std::vector<int32_t> host_sample(static_cast<size_t>(L * U));
      std::uniform_int_distribution<int32_t> key(0, static_cast<int32_t>(L - 1));
      for (int32_t& x : host_sample) x = key(gen);
      Require(sample.Resize(informer::cuda::RuntimeAllocator(), host_sample.size() * sizeof(int32_t)), "alloc sample");
      Require(
          informer::cuda::CopyToDevice(sample.get(), host_sample.data(), host_sample.size() * sizeof(int32_t), nullptr),
          "upload sample");
      const int64_t ws_floats = std::max(informer::cuda::FullAttentionWorkspaceFloats(s),
                                         informer::cuda::ProbAttentionWorkspaceFloats(s, U, u));
      Require(ws.Resize(informer::cuda::RuntimeAllocator(),
                        static_cast<size_t>(std::max<int64_t>(ws_floats, 1)) * sizeof(float)),
              "alloc workspace");
      const std::string tag = "B=" + std::to_string(B) + " L=" + std::to_string(L);

      AttentionRow row{B, L, U, u, {}, {}};
      row.full = TimeKernel(
          o, reps,
          [&] {
            informer::cuda::FullAttentionForward(nullptr, s, q.as(), k.as(), v.as(), layout, layout, out.as(), layout,
                                                 /*causal=*/false, scale, /*dropout=*/0.f, informer::cuda::DropoutRng{},
                                                 nullptr, nullptr, ws.as());
          },
          "full attention " + tag);
      row.prob = TimeKernel(
          o, reps,
          [&] {
            informer::cuda::ProbAttentionForward(nullptr, s, q.as(), k.as(), v.as(), layout, layout, out.as(), layout,
                                                 /*masked=*/false, scale, sample.as<int32_t>(), U, u, nullptr, nullptr,
                                                 ws.as());
          },
          "ProbSparse attention " + tag);
      // The last output (ProbSparse) must be finite: a kernel that silently did nothing would not be.
      std::vector<float> host_out(static_cast<size_t>(B * L * r.H * r.d));
      Require(informer::cuda::CopyToHost(host_out.data(), out.get(), host_out.size() * sizeof(float), nullptr),
              "download attention output");
      for (float x : host_out)
        if (!std::isfinite(x)) Require(informer::InvalidValue("non-finite attention output"), tag);
      std::fprintf(stderr, "bench_cuda: attention %s done\n", tag.c_str());
      r.rows.push_back(row);
    }
  return r;
}

// ---- output ----------------------------------------------------------------------------------

std::string Ms(double ms) {
  if (!std::isfinite(ms)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 1 ? "%.3f" : (ms < 100 ? "%.2f" : "%.1f"), ms);
  return buf;
}

std::string Ratio(double a, double b) {
  if (!std::isfinite(a) || !std::isfinite(b) || b <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", a / b);
  return buf;
}

std::string JsonNumber(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  return buf;
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", ch);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

void PrintModel(const Options& o, const informer::ModelConfig& c, const ModelResults& r) {
  std::printf(
      "## %s model (seq %d/%d/%d, d_model %d, %d heads, e_layers %d, d_layers %d, d_ff %d, "
      "ProbSparse factor %d, dropout %.2f)\n\n",
      o.quick ? "Quick" : "Paper", c.seq_len, c.label_len, c.pred_len, c.d_model, c.n_heads, c.e_layers, c.d_layers,
      c.d_ff, c.factor, c.dropout);
  std::printf("| measurement | batch | GPU ms | CPU ms | CPU / GPU |\n| --- | --- | --- | --- | --- |\n");
  for (const ModelRow& row : r.rows)
    std::printf("| %s | %lld | %s | %s | %s |\n", row.name.c_str(), static_cast<long long>(row.batch),
                Ms(row.gpu.median_ms).c_str(), Ms(row.cpu.median_ms).c_str(),
                Ratio(row.cpu.median_ms, row.gpu.median_ms).c_str());
  std::printf(
      "\nMedians: GPU up to %d reps (train step %d) after %d warm-ups; CPU %d reps after %d warm-up(s), "
      "%d threads; at most ~%.0f s per measurement.\n",
      o.reps, o.train_reps(), o.gpu_warmup, o.cpu_reps, o.cpu_warmup, informer::ThreadPool::global().size(),
      kBudgetMs / 1000);
  if (std::isfinite(r.check_max_abs_diff))
    std::printf("Eval forecast, batch %lld, GPU vs CPU: max |diff| %.3g (max |forecast| %.3g).\n",
                static_cast<long long>(r.check_batch), r.check_max_abs_diff, r.check_max_abs_out);
  std::printf("\n");
}

void PrintAttention(const AttentionResults& r) {
  std::printf("## Attention forward kernels (self-attention, unmasked, inference), H=%lld, d=%lld\n\n",
              static_cast<long long>(r.H), static_cast<long long>(r.d));
  std::printf(
      "| B | L | U = u | full ms | ProbSparse ms | full / ProbSparse |\n| --- | --- | --- | --- | --- | --- |\n");
  for (const AttentionRow& row : r.rows)
    std::printf("| %lld | %lld | %lld | %s | %s | %s |\n", static_cast<long long>(row.B), static_cast<long long>(row.L),
                static_cast<long long>(row.U), Ms(row.full.median_ms).c_str(), Ms(row.prob.median_ms).c_str(),
                Ratio(row.full.median_ms, row.prob.median_ms).c_str());
  std::printf(
      "\nU = factor * ceil(ln L) (factor %d) sampled keys per query and u selected queries per head. "
      "Median time per launch (launches back to back, about 2 ms per synchronisation).\n\n",
      r.factor);
}

void WriteJson(const std::string& path, const Options& o, const std::string& device, const informer::ModelConfig& c,
               const ModelResults& m, const AttentionResults& a) {
  std::string j = "{\n";
  j += "  \"tool\": \"bench_cuda\",\n";
  j += "  \"device\": " + JsonString(device) + ",\n";
  j += "  \"quick\": " + std::string(o.quick ? "true" : "false") + ",\n";
  j += "  \"cpu_threads\": " + std::to_string(informer::ThreadPool::global().size()) + ",\n";
  j += "  \"config\": {\"seq_len\": " + std::to_string(c.seq_len) + ", \"label_len\": " + std::to_string(c.label_len) +
       ", \"pred_len\": " + std::to_string(c.pred_len) + ", \"enc_in\": " + std::to_string(c.enc_in) +
       ", \"d_model\": " + std::to_string(c.d_model) + ", \"n_heads\": " + std::to_string(c.n_heads) +
       ", \"e_layers\": " + std::to_string(c.e_layers) + ", \"d_layers\": " + std::to_string(c.d_layers) +
       ", \"d_ff\": " + std::to_string(c.d_ff) + ", \"factor\": " + std::to_string(c.factor) +
       ", \"dropout\": " + JsonNumber(c.dropout) + "},\n";
  j += "  \"model\": [\n";
  for (size_t i = 0; i < m.rows.size(); ++i) {
    const ModelRow& r = m.rows[i];
    j += "    {\"name\": " + JsonString(r.name) + ", \"batch\": " + std::to_string(r.batch) +
         ", \"gpu_ms\": " + JsonNumber(r.gpu.median_ms) + ", \"gpu_reps\": " + std::to_string(r.gpu.reps) +
         ", \"cpu_ms\": " + JsonNumber(r.cpu.median_ms) + ", \"cpu_reps\": " + std::to_string(r.cpu.reps) + "}" +
         (i + 1 < m.rows.size() ? ",\n" : "\n");
  }
  j += "  ],\n";
  j += "  \"forecast_check\": {\"batch\": " + std::to_string(m.check_batch) +
       ", \"max_abs_diff\": " + JsonNumber(m.check_max_abs_diff) +
       ", \"max_abs_forecast\": " + JsonNumber(m.check_max_abs_out) + "},\n";
  j += "  \"attention\": {\"H\": " + std::to_string(a.H) + ", \"d\": " + std::to_string(a.d) +
       ", \"factor\": " + std::to_string(a.factor) + ", \"rows\": [\n";
  for (size_t i = 0; i < a.rows.size(); ++i) {
    const AttentionRow& r = a.rows[i];
    j += "    {\"B\": " + std::to_string(r.B) + ", \"L\": " + std::to_string(r.L) + ", \"U\": " + std::to_string(r.U) +
         ", \"u\": " + std::to_string(r.u) + ", \"full_ms\": " + JsonNumber(r.full.median_ms) +
         ", \"prob_ms\": " + JsonNumber(r.prob.median_ms) + ", \"full_reps\": " + std::to_string(r.full.reps) +
         ", \"prob_reps\": " + std::to_string(r.prob.reps) +
         ", \"full_over_prob\": " + JsonNumber(r.full.median_ms / r.prob.median_ms) + "}" +
         (i + 1 < a.rows.size() ? ",\n" : "\n");
  }
  j += "  ]}\n}\n";
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f || std::fwrite(j.data(), 1, j.size(), f) != j.size() || std::fclose(f) != 0) {
    std::fprintf(stderr, "bench_cuda: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

bool ParseInt(const char* s, int* out) {
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (!end || *end || v < 1 || v > 100000) return false;
  *out = static_cast<int>(v);
  return true;
}

int Usage() {
  std::fprintf(stderr,
               "usage: bench_cuda [--quick] [--reps N] [--cpu-reps N] [--skip-cpu] [--gemm-precision fp32|tf32|bf16] "
               "[--json FILE]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const bool has_value = i + 1 < argc;
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--skip-cpu") {
      o.skip_cpu = true;
    } else if (a == "--reps" && has_value) {
      if (!ParseInt(argv[++i], &o.reps)) return Usage();
    } else if (a == "--cpu-reps" && has_value) {
      if (!ParseInt(argv[++i], &o.cpu_reps)) return Usage();
    } else if (a == "--json" && has_value) {
      o.json_path = argv[++i];
    } else if (a == "--gemm-precision" && has_value) {
      // cuBLAS's TF32 or BF16 tensor-core modes (setGpuMatmulPrecision in JavaScript); the tiled
      // kernel ignores it.
      const std::string v = argv[++i];
      if (v == "fp32") {
        informer::cuda::SetGemmPrecision(informer::cuda::GemmPrecision::kFp32);
      } else if (v == "tf32") {
        informer::cuda::SetGemmPrecision(informer::cuda::GemmPrecision::kTf32);
      } else if (v == "bf16") {
        informer::cuda::SetGemmPrecision(informer::cuda::GemmPrecision::kBf16);
      } else {
        return Usage();
      }
    } else {
      return Usage();
    }
  }
  if (o.quick) o.reps = o.cpu_reps = o.gpu_warmup = o.cpu_warmup = 1;

  informer::cuda::RegisterBackend();
  if (informer::cuda::DeviceCount() == 0) {
    std::fprintf(stderr, "bench_cuda: %s\n", informer::cuda::DeviceDescription(0).c_str());
    return 1;
  }
  const std::string device = informer::cuda::DeviceDescription(0);
  static const char* const kPrecision[] = {"fp32", "tf32", "bf16"};
  std::printf("# bench_cuda%s\n\nDevice: %s; GEMM: %s, %s\n\n",
              o.quick ? " --quick (tiny shapes, 1 rep: times mean nothing)" : "", device.c_str(),
              informer::cuda::GemmBackendName(), kPrecision[static_cast<int>(informer::cuda::GetGemmPrecision())]);
  std::fflush(stdout);

  try {
    const informer::ModelConfig c = BenchConfig(o.quick);
    const ModelResults m = BenchModel(o, c);
    PrintModel(o, c, m);
    std::fflush(stdout);
    const AttentionResults a = BenchAttention(o);
    PrintAttention(a);
    std::fflush(stdout);
    if (!o.json_path.empty()) WriteJson(o.json_path, o, device, c, m, a);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "bench_cuda: FAILED: out of host memory\n");
    return 1;
  }
  return 0;
}
