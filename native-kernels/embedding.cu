// Embedding lookup: out[t] = table[ids[t]] * scale as f32 (the residual stream; scale is 1, or Gemma's
// sqrt(hidden_size)). One block per token.
// An id outside [0, vocab) gives a zero row; the host validates ids before they get here.
#include "folio_cuda.h"

template <typename S>
FOLIO_DEVICE void folio_embedding_impl(float* __restrict__ out, const S* __restrict__ table, const int* __restrict__ ids, int hidden, int vocab, float scale)
{
    long t = blockIdx.x;
    int id = ids[t];
    bool ok = id >= 0 && id < vocab;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        out[t * hidden + i] = ok ? folio_to_f32(table[(long)id * hidden + i]) * scale : 0.f;
    }
}

#define FOLIO_EMB(suffix, S) \
    extern "C" __global__ void folio_embedding_##suffix(float* out, const S* table, const int* ids, int hidden, int vocab, float scale) \
    { folio_embedding_impl<S>(out, table, ids, hidden, vocab, scale); }
FOLIO_EMB(f32, float)
FOLIO_EMB(bf16, folio_bf16)
