// Parsed forward-pass arguments, owned by C++ so they can cross to a worker thread.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

#include "model/model.h"

namespace informer_addon {

struct Activation {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

struct ForwardArgs {
  int64_t batch = 0;
  bool train = false;
  bool capture = false;
  informer::Sampling sampling = informer::Sampling::kDeterministic;
  // Inputs: borrowed from JavaScript for synchronous calls, copied into `owned` for async ones.
  const float* x[4] = {nullptr, nullptr, nullptr, nullptr};
  std::vector<float> owned[4];
  std::vector<std::vector<int32_t>> samples;
  std::vector<informer::IndexMatrix> sample_views;
  bool has_samples = false;
  std::vector<float> target;  // [B, pred_len, c_out] for lossAndGrad / trainStep
  informer::AdamConfig adam;  // trainStep only

  informer::ForwardInput Input() const;
  informer::ForwardOptions Options() const;
};

// Parses the target (argument `index`) of lossAndGrad / trainStep into args->target.
bool ParseTarget(const Napi::CallbackInfo& info, size_t index, const informer::Model& model, ForwardArgs* args);

// Parses Adam settings {lr, beta1, beta2, eps, weightDecay} (argument `index`).
bool ParseAdam(const Napi::CallbackInfo& info, size_t index, ForwardArgs* args);

// Parses (inputs, batch, opts) for `model` (opts is argument `opts_index`). Returns false with a typed error thrown.
bool ParseForwardArgs(const Napi::CallbackInfo& info, const informer::Model& model, bool copy_inputs, ForwardArgs* out,
                      size_t opts_index = 2);

// Runs the pass (the caller holds the model's lock). Fills output [B, pred_len, c_out] and, when
// args.capture, the intermediate activations.
informer::Status RunForward(informer::Model& model, ForwardArgs& args, std::vector<float>* output,
                            std::vector<Activation>* activations, float* output_buffer);

Napi::Value ForwardResult(Napi::Env env, std::vector<float>& output, std::vector<Activation>& activations,
                          bool capture);

}  // namespace informer_addon
