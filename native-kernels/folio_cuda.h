// folio_cuda.h: the one header every Folio kernel includes.
//
// It includes no NVIDIA header on purpose: NVRTC compiles the kernels with nothing but this file
// (no CUDA toolkit on the machine), and g++ compiles the very same sources for the host through
// emu/cuda_emu.h (FOLIO_EMU defined). So the 16-bit float types are ours: plain structs of bits,
// converted by hand with the same rounding the hardware uses (round to nearest, ties to even).
#pragma once

#ifdef FOLIO_EMU
#include "emu/cuda_emu.h"
#endif

#define FOLIO_DEVICE __device__ __forceinline__

// Block size every Folio kernel is launched with unless its comment says otherwise; the host
// side (Folio.Cuda.KernelCatalog) uses the same numbers.
#define FOLIO_WARP 32

// Dynamic shared memory as a typed pointer. CUDA declares it extern; the emulation hands out the
// buffer the launcher allocated for the block being run.
#ifdef FOLIO_EMU
#define FOLIO_DYNAMIC_SMEM(type, name) type* name = reinterpret_cast<type*>(folio_emu::dynamic_smem())
#else
#define FOLIO_DYNAMIC_SMEM(type, name) \
    extern __shared__ __align__(16) unsigned char folio_smem_raw_[]; \
    type* name = reinterpret_cast<type*>(folio_smem_raw_)
#endif

struct folio_bf16 { unsigned short bits; };
struct folio_f16 { unsigned short bits; };

// ---- conversions -------------------------------------------------------------------------------

FOLIO_DEVICE float folio_to_f32(float v) { return v; }

FOLIO_DEVICE float folio_to_f32(folio_bf16 v) { return __uint_as_float(((unsigned int)v.bits) << 16); }

FOLIO_DEVICE float folio_to_f32(folio_f16 v)
{
    unsigned int h = v.bits;
    unsigned int sign = (h & 0x8000u) << 16;
    unsigned int exp = (h >> 10) & 0x1fu;
    unsigned int man = h & 0x3ffu;
    unsigned int bits;
    if (exp == 0x1fu) {
        bits = sign | 0x7f800000u | (man << 13);          // inf / nan
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (man << 13);  // normal: rebias 15 -> 127
    } else if (man == 0) {
        bits = sign;                                       // signed zero
    } else {
        // subnormal half: value = man * 2^-24; normalise the mantissa.
        int e = -1;
        do { man <<= 1; e++; } while ((man & 0x400u) == 0);
        bits = sign | ((unsigned int)(112 - e) << 23) | ((man & 0x3ffu) << 13);
    }
    return __uint_as_float(bits);
}

FOLIO_DEVICE folio_bf16 folio_f32_to_bf16(float f)
{
    unsigned int u = __float_as_uint(f);
    folio_bf16 r;
    if ((u & 0x7fffffffu) > 0x7f800000u) {
        r.bits = (unsigned short)((u >> 16) | 0x40u);      // quiet nan, keep sign
        return r;
    }
    u += 0x7fffu + ((u >> 16) & 1u);                       // round to nearest, ties to even
    r.bits = (unsigned short)(u >> 16);
    return r;
}

FOLIO_DEVICE folio_f16 folio_f32_to_f16(float f)
{
    unsigned int u = __float_as_uint(f);
    unsigned int sign = (u >> 16) & 0x8000u;
    unsigned int a = u & 0x7fffffffu;
    folio_f16 r;
    if (a > 0x7f800000u) { r.bits = (unsigned short)(sign | 0x7e00u); return r; }   // nan
    if (a >= 0x477ff000u) { r.bits = (unsigned short)(sign | 0x7c00u); return r; }  // rounds to inf
    if (a >= 0x38800000u) {
        // normal half: drop 13 mantissa bits with ties-to-even, rebias 127 -> 15
        unsigned int m = a + 0xfffu + ((a >> 13) & 1u);
        r.bits = (unsigned short)(sign | ((m - 0x38000000u) >> 13));
        return r;
    }
    if (a < 0x33000000u) { r.bits = (unsigned short)sign; return r; }               // below half of the least subnormal
    // subnormal half: shift the full mantissa (with hidden bit) right, round to nearest even
    unsigned int exp = a >> 23;
    unsigned int man = (a & 0x7fffffu) | 0x800000u;
    unsigned int shift = 126u - exp;                                                  // 14..24
    unsigned int q = man >> shift;
    unsigned int rem = man & ((1u << shift) - 1u);
    unsigned int half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (q & 1u))) q++;
    r.bits = (unsigned short)(sign | q);
    return r;
}

FOLIO_DEVICE void folio_store(float* p, float v) { *p = v; }
FOLIO_DEVICE void folio_store(folio_bf16* p, float v) { *p = folio_f32_to_bf16(v); }
FOLIO_DEVICE void folio_store(folio_f16* p, float v) { *p = folio_f32_to_f16(v); }

// ---- reductions --------------------------------------------------------------------------------

FOLIO_DEVICE float folio_warp_sum(float v)
{
    for (int m = FOLIO_WARP / 2; m > 0; m >>= 1) v += __shfl_xor_sync(0xffffffffu, v, m);
    return v;
}

FOLIO_DEVICE float folio_warp_max(float v)
{
    for (int m = FOLIO_WARP / 2; m > 0; m >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, m));
    return v;
}

// Block-wide sum / max; every thread gets the result. `scratch` holds at least 33 floats of
// shared memory not used by the caller during the call. blockDim.x must be a multiple of 32.
FOLIO_DEVICE float folio_block_sum(float v, float* scratch)
{
    int lane = threadIdx.x % FOLIO_WARP, warp = threadIdx.x / FOLIO_WARP, nw = blockDim.x / FOLIO_WARP;
    v = folio_warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (threadIdx.x == 0) {
        float s = 0.f;
        for (int i = 0; i < nw; i++) s += scratch[i];   // fixed order: same result on every run
        scratch[32] = s;
    }
    __syncthreads();
    float r = scratch[32];
    __syncthreads();
    return r;
}

FOLIO_DEVICE float folio_block_max(float v, float* scratch)
{
    int lane = threadIdx.x % FOLIO_WARP, warp = threadIdx.x / FOLIO_WARP, nw = blockDim.x / FOLIO_WARP;
    v = folio_warp_max(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (threadIdx.x == 0) {
        float m = scratch[0];
        for (int i = 1; i < nw; i++) m = fmaxf(m, scratch[i]);
        scratch[32] = m;
    }
    __syncthreads();
    float r = scratch[32];
    __syncthreads();
    return r;
}

#define FOLIO_NEG_INF (-__int_as_float(0x7f800000))
