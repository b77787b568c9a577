// Embedding helpers: the sinusoid tables and the integer-mark temporal lookup.
#pragma once
#include <cstdint>
#include <string>

namespace informer {

// Sinusoid table [rows, D] computed in float32 exactly as the reference:
// table[p, 2i] = sin(p * w_i), table[p, 2i+1] = cos(p * w_i), w_i = exp(2i * -(ln 10000 / D)).
// Used for the positional buffer `pe` and the 'fixed' temporal tables.
void FillSinusoidTable(int64_t rows, int64_t D, float* table);

// out[n, :] += table[int(marks[n, column]), :] for N rows; marks [N, n_mark] are truncated toward
// zero like the reference's .long(). Returns the first offending row (>= 0) when an index is outside
// [0, rows), else -1; nothing is written in that case.
// The first of N rows whose marks[n, column] truncates to an index outside [0, rows) (NaN included),
// or -1 when every index is valid.
int64_t FirstMarkOutOfRange(int64_t N, int64_t n_mark, const float* marks, int column, int64_t rows);

int64_t TemporalLookupAdd(int64_t N, int64_t n_mark, const float* marks, int column, const float* table, int64_t rows,
                          int64_t D, float* out);

// Backward of TemporalLookupAdd for a trainable ('learned') table: dtable[int(marks[n, column])] += dy[n].
void TemporalLookupBackward(int64_t N, int64_t n_mark, const float* marks, int column, const float* dy, int64_t D,
                            float* dtable);

}  // namespace informer
