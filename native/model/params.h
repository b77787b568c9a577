// The parameter table: every parameter and buffer of the model, named exactly as the reference
// PyTorch state_dict, laid out in ONE contiguous float arena (llm.c style) in registration order.
// Integer buffers (BatchNorm num_batches_tracked) live in a small int64 side table.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/config.h"

namespace informer {

enum class ParamKind : int {
  kTrainable = 0,  // gets a gradient and an optimiser update
  kFrozen = 1,     // a Parameter with requires_grad=False (the 'fixed' sinusoid temporal tables)
  kBuffer = 2,     // a float buffer (positional table, BatchNorm running stats)
  kIntBuffer = 3,  // an int64 buffer (num_batches_tracked)
};

struct ParamInfo {
  std::string name;
  std::vector<int64_t> shape;
  ParamKind kind;
  size_t offset;  // into the float arena (parameters first, then buffers), or the int64 table
  size_t numel;
};

class ParamTable {
 public:
  explicit ParamTable(const ModelConfig& cfg);

  const std::vector<ParamInfo>& entries() const { return entries_; }
  const ParamInfo* Find(const std::string& name) const;
  size_t float_count() const { return float_count_; }
  // Floats of the parameters proper (trainable and frozen), which come first in the arena.
  size_t param_float_count() const { return param_float_count_; }
  size_t int_count() const { return int_count_; }

  std::vector<float>& floats() { return floats_; }
  const std::vector<float>& floats() const { return floats_; }
  std::vector<int64_t>& ints() { return ints_; }
  const std::vector<int64_t>& ints() const { return ints_; }

  // Pointer to a float entry (nullptr if absent or integer). Names are the reference names.
  float* F(const std::string& name);
  const float* F(const std::string& name) const;
  int64_t* I(const std::string& name);

 private:
  void Add(const std::string& name, std::vector<int64_t> shape, ParamKind kind);
  void AddLinear(const std::string& prefix, int out, int in);
  void AddConv1(const std::string& prefix, int out, int in);  // Conv1d kernel 1: weight [out, in, 1]
  void AddNorm(const std::string& prefix, int d);
  void AddBatchNorm(const std::string& prefix, int d);
  void AddEmbedding(const std::string& prefix, const ModelConfig& c, int c_in);
  void AddAttention(const std::string& prefix, int d);
  void AddEncoder(const std::string& prefix, const ModelConfig& c, int layers);

  std::vector<ParamInfo> entries_;
  std::map<std::string, size_t> index_;
  size_t float_count_ = 0, int_count_ = 0, param_float_count_ = 0;
  std::vector<float> floats_;
  std::vector<int64_t> ints_;
};

// Temporal tables of TemporalEmbedding in the reference's registration order; rows per table.
struct TemporalTable {
  const char* name;
  int rows;
  int column;  // x_mark column it is indexed by
};
std::vector<TemporalTable> TemporalTables(bool minute_embed);

}  // namespace informer
