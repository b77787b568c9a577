// Dropout's Bernoulli keep masks, drawn 16 decisions at a time. One 64-bit key per call (from the
// model's generator) seeds four xoshiro256** lanes; each step of the four lanes yields 4 x 64 bits,
// cut into sixteen 16-bit draws: element 16 s + 4 l + c of the call takes bits [16 c, 16 c + 16) of
// lane l's output at step s, and is kept when that draw is below the threshold (so keep_prob is
// resolved to 1/65536). The AVX2 version (dropout_mask_avx2.cc) runs the four lanes in one register
// and produces the same mask bit for bit as the portable one.
#pragma once
#include <cstdint>

namespace informer {

// Keep threshold for a keep probability: draws (uniform in [0, 65536)) below it are kept.
uint32_t KeepThreshold16(float keep_prob);

// For i < n: k = draw_(first + i) < threshold; keep[i] = k (when keep is given) and x[i] *= k ? scale : 0
// (when x is given). `first` selects a window of the key's stream: a batch split into parts
// (model_split.cc) draws each part's mask as the elements it holds of the whole batch's mask.
void DropoutMask(int64_t n, uint32_t threshold, uint64_t key, float scale, float* x, uint8_t* keep, int64_t first = 0);

namespace dropout_internal {
// The four lanes' state, seeded from the key through SplitMix64.
struct Lanes {
  uint64_t s[4][4];  // [state word][lane], the order the AVX2 registers hold them
};
void SeedLanes(uint64_t key, Lanes* lanes);
// Portable implementation (the reference the AVX2 one must match); exposed for tests. Both start at
// step `skip` of the lanes (element 16 * skip of the stream).
void DropoutMaskPortable(int64_t n, uint32_t threshold, uint64_t key, float scale, float* x, uint8_t* keep,
                         int64_t skip = 0);
// Implemented in dropout_mask_avx2.cc (x86-64 only).
void DropoutMaskAvx2(int64_t n, uint32_t threshold, uint64_t key, float scale, float* x, uint8_t* keep,
                     int64_t skip = 0);
}  // namespace dropout_internal

}  // namespace informer
