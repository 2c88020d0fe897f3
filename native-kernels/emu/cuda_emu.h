// cuda_emu.h: just enough of CUDA for g++ to compile Folio's .cu kernels for the host, so that CI
// machines without a GPU run the very same kernel source.
//
// Model: a launch runs its blocks one after another on a pool of blockDim host threads, one host
// thread per CUDA thread. __syncthreads is a real std::barrier over the block's threads; warp
// shuffles go through per-warp slots between two barriers of the warp's 32 threads; __shared__
// variables are function statics (one copy, and only one block runs at a time, so each block
// sees its own shared memory); dynamic shared memory is a buffer the launcher allocates.
// What it cannot show: timing, memory coalescing, races between blocks (blocks never overlap
// here), and divergence around __syncthreads (kernels must reach barriers block-uniformly).
#pragma once

#include <atomic>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

struct uint3 { unsigned int x, y, z; };
struct dim3 { unsigned int x = 1, y = 1, z = 1; };

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
// A function-local static has one copy for all host threads: the block's shared memory.
#define __shared__ static

namespace folio_emu {

struct LaunchState {
    dim3 grid, block;
    std::unique_ptr<std::barrier<>> block_barrier;
    std::vector<std::unique_ptr<std::barrier<>>> warp_barriers;
    std::vector<float> warp_slots_f;          // [nwarps * 32]
    std::vector<unsigned int> warp_slots_u;   // [nwarps * 32]
    std::vector<unsigned char> smem;          // dynamic shared memory of the running block
};

inline LaunchState* g_launch = nullptr;
// One launch at a time in the process: a GPU stream runs kernels in order too, and g_launch is global.
inline std::mutex g_launch_mutex;
inline thread_local uint3 t_thread{0, 0, 0};
inline thread_local uint3 t_block{0, 0, 0};

inline unsigned char* dynamic_smem() { return g_launch->smem.data(); }

inline unsigned int flat_thread() { return t_thread.x + g_launch->block.x * (t_thread.y + g_launch->block.y * t_thread.z); }

// Runs `body` once per CUDA thread of every block in the grid. Blocks run in order x, then y, then z.
inline void launch(dim3 grid, dim3 block, size_t smem_bytes, const std::function<void()>& body)
{
    std::lock_guard<std::mutex> one_at_a_time(g_launch_mutex);
    unsigned int nthreads = block.x * block.y * block.z;
    LaunchState st;
    st.grid = grid;
    st.block = block;
    st.block_barrier = std::make_unique<std::barrier<>>((std::ptrdiff_t)nthreads);
    unsigned int nwarps = (nthreads + 31) / 32;
    for (unsigned int w = 0; w < nwarps; w++) {
        unsigned int n = (w + 1) * 32 <= nthreads ? 32 : nthreads - w * 32;
        st.warp_barriers.push_back(std::make_unique<std::barrier<>>((std::ptrdiff_t)n));
    }
    st.warp_slots_f.assign(nwarps * 32, 0.f);
    st.warp_slots_u.assign(nwarps * 32, 0u);
    st.smem.assign(smem_bytes + 16, 0);
    g_launch = &st;
    std::vector<std::thread> threads;
    threads.reserve(nthreads);
    for (unsigned int t = 0; t < nthreads; t++) {
        threads.emplace_back([&, t] {
            t_thread = uint3{t % block.x, (t / block.x) % block.y, t / (block.x * block.y)};
            for (unsigned int bz = 0; bz < grid.z; bz++)
                for (unsigned int by = 0; by < grid.y; by++)
                    for (unsigned int bx = 0; bx < grid.x; bx++) {
                        t_block = uint3{bx, by, bz};
                        body();
                        // The next block must not start while a thread of this one still reads shared memory.
                        st.block_barrier->arrive_and_wait();
                    }
        });
    }
    for (auto& th : threads) th.join();
    g_launch = nullptr;
}

struct ThreadIdx {
    struct X { operator unsigned int() const { return t_thread.x; } } x;
    struct Y { operator unsigned int() const { return t_thread.y; } } y;
    struct Z { operator unsigned int() const { return t_thread.z; } } z;
};
struct BlockIdx {
    struct X { operator unsigned int() const { return t_block.x; } } x;
    struct Y { operator unsigned int() const { return t_block.y; } } y;
    struct Z { operator unsigned int() const { return t_block.z; } } z;
};
struct BlockDim {
    struct X { operator unsigned int() const { return g_launch->block.x; } } x;
    struct Y { operator unsigned int() const { return g_launch->block.y; } } y;
    struct Z { operator unsigned int() const { return g_launch->block.z; } } z;
};
struct GridDim {
    struct X { operator unsigned int() const { return g_launch->grid.x; } } x;
    struct Y { operator unsigned int() const { return g_launch->grid.y; } } y;
    struct Z { operator unsigned int() const { return g_launch->grid.z; } } z;
};

inline void warp_sync()
{
    g_launch->warp_barriers[flat_thread() / 32]->arrive_and_wait();
}

} // namespace folio_emu

inline folio_emu::ThreadIdx threadIdx;
inline folio_emu::BlockIdx blockIdx;
inline folio_emu::BlockDim blockDim;
inline folio_emu::GridDim gridDim;

inline void __syncthreads() { folio_emu::g_launch->block_barrier->arrive_and_wait(); }
inline void __syncwarp(unsigned int = 0xffffffffu) { folio_emu::warp_sync(); }
inline void __threadfence() { std::atomic_thread_fence(std::memory_order_seq_cst); }
inline void __threadfence_block() { std::atomic_thread_fence(std::memory_order_seq_cst); }

namespace folio_emu {
// Every lane publishes its value, the warp meets, each lane reads its source lane, the warp meets
// again so no lane overwrites a slot another lane has yet to read. All 32 lanes must take part.
template <typename F>
inline float shfl_f(float v, F src)
{
    unsigned int t = flat_thread(), w = t / 32, lane = t % 32;
    g_launch->warp_slots_f[w * 32 + lane] = v;
    warp_sync();
    unsigned int s = src(lane);
    float r = s < 32 ? g_launch->warp_slots_f[w * 32 + s] : v;
    warp_sync();
    return r;
}
template <typename F>
inline unsigned int shfl_u(unsigned int v, F src)
{
    unsigned int t = flat_thread(), w = t / 32, lane = t % 32;
    g_launch->warp_slots_u[w * 32 + lane] = v;
    warp_sync();
    unsigned int s = src(lane);
    unsigned int r = s < 32 ? g_launch->warp_slots_u[w * 32 + s] : v;
    warp_sync();
    return r;
}
} // namespace folio_emu

inline float __shfl_xor_sync(unsigned int, float v, int m) { return folio_emu::shfl_f(v, [m](unsigned int l) { return l ^ (unsigned int)m; }); }
inline float __shfl_sync(unsigned int, float v, int src) { return folio_emu::shfl_f(v, [src](unsigned int) { return (unsigned int)src; }); }
inline float __shfl_down_sync(unsigned int, float v, unsigned int d) { return folio_emu::shfl_f(v, [d](unsigned int l) { return l + d < 32 ? l + d : 99u; }); }
inline int __shfl_xor_sync(unsigned int, int v, int m) { return (int)folio_emu::shfl_u((unsigned int)v, [m](unsigned int l) { return l ^ (unsigned int)m; }); }
inline int __shfl_sync(unsigned int, int v, int src) { return (int)folio_emu::shfl_u((unsigned int)v, [src](unsigned int) { return (unsigned int)src; }); }
inline unsigned int __shfl_xor_sync(unsigned int, unsigned int v, int m) { return folio_emu::shfl_u(v, [m](unsigned int l) { return l ^ (unsigned int)m; }); }

inline float __uint_as_float(unsigned int u) { float f; std::memcpy(&f, &u, 4); return f; }
inline unsigned int __float_as_uint(float f) { unsigned int u; std::memcpy(&u, &f, 4); return u; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }

inline float atomicAdd(float* p, float v) { return std::atomic_ref<float>(*p).fetch_add(v); }
inline int atomicAdd(int* p, int v) { return std::atomic_ref<int>(*p).fetch_add(v); }
inline unsigned int atomicAdd(unsigned int* p, unsigned int v) { return std::atomic_ref<unsigned int>(*p).fetch_add(v); }
inline int atomicMax(int* p, int v) { std::atomic_ref<int> a(*p); int o = a.load(); while (o < v && !a.compare_exchange_weak(o, v)) {} return o; }

template <typename T> inline T __ldg(const T* p) { return *p; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __fdividef(float a, float b) { return a / b; }
// expf, sqrtf, fmaxf, fminf, fabsf, logf, sincosf: glibc's global float functions, as on the device.

// Launch sugar for the entry points: FOLIO_EMU_LAUNCH(kernel, grid, block, smem, args...)
#define FOLIO_EMU_LAUNCH(kernel, grid, block, smem, ...) \
    folio_emu::launch(grid, block, smem, [&] { kernel(__VA_ARGS__); })
