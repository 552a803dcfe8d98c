// Fused softmax, log_softmax and logsumexp along the last axis of a C-contiguous (rows, n) array.
//
// Accuracy: the log1p form of Blanchard, Higham & Higham (2021): with m the row maximum at index k (the first),
//   t = sum_{i != k} exp(x_i - m),   softmax_i = exp(x_i - m) / (1 + t),
//   log_softmax_i = (x_i - m) - log1p(t),   logsumexp = m + log1p(t),
// so a tiny t is not rounded away by 1 + t before the log.  float16 and bfloat16 inputs are computed in float32,
// float32 in float32, float64 in float64; results are rounded once to the input's type.  Accurate expf/log1pf
// (no --use_fast_math, no flush to zero).
//
// Two kernels:
//   warp: one warp per row, the row held in registers (VPT values a lane, n <= 32 * VPT): one read, one write.
//   block: one block per row for long rows; each thread keeps an online (m, t, k) triple (Milakov & Gimelshein
//          2018, extended to keep the max's own term out of t), the triples are merged across the block, then the
//          row is read again to write the outputs.  16-byte loads when the row length allows.
//
// Special values follow stability.policy: NaN anywhere in a row gives NaN (logsumexp too); an all -inf row gives
// NaN (softmax, log_softmax) and -inf (logsumexp) -- the online merge never evaluates exp(-inf - (-inf)); a row
// with one +inf gives the limit (1 there, 0 elsewhere; 0 and -inf), with more than one NaN; logsumexp gives +inf.

#include <cuda_fp16.h>
#include <cuda_bf16.h>

namespace {

__device__ __forceinline__ float ninf(float) { return __int_as_float(0xff800000); }
__device__ __forceinline__ double ninf(double) { return __longlong_as_double(0xfff0000000000000LL); }
__device__ __forceinline__ float pinf(float) { return __int_as_float(0x7f800000); }
__device__ __forceinline__ double pinf(double) { return __longlong_as_double(0x7ff0000000000000LL); }
__device__ __forceinline__ float qnan(float) { return __int_as_float(0x7fc00000); }
__device__ __forceinline__ double qnan(double) { return __longlong_as_double(0x7ff8000000000000LL); }

__device__ __forceinline__ float exp_(float v) { return expf(v); }
__device__ __forceinline__ double exp_(double v) { return exp(v); }
__device__ __forceinline__ float log1p_(float v) { return log1pf(v); }
__device__ __forceinline__ double log1p_(double v) { return log1p(v); }

__device__ __forceinline__ float load(const float* p) { return *p; }
__device__ __forceinline__ double load(const double* p) { return *p; }
__device__ __forceinline__ float load(const __half* p) { return __half2float(*p); }
__device__ __forceinline__ float load(const __nv_bfloat16* p) { return __bfloat162float(*p); }

__device__ __forceinline__ void store(float* p, float v) { *p = v; }
__device__ __forceinline__ void store(double* p, double v) { *p = v; }
__device__ __forceinline__ void store(__half* p, float v) { *p = __float2half_rn(v); }
__device__ __forceinline__ void store(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

template <typename T> struct Acc { typedef float type; };
template <> struct Acc<double> { typedef double type; };

// The running state of one row (or part of it): max m at index k, t = sum of exp(x_i - m) over the other
// entries seen, and whether a NaN was seen.
template <typename A> struct State {
    A m;
    A t;
    int k;
    int nan;
};

template <typename A> __device__ __forceinline__ State<A> empty_state() {
    State<A> s;
    s.m = ninf(A(0));
    s.t = A(0);
    s.k = 0x7fffffff;
    s.nan = 0;
    return s;
}

// Add one entry v at index i.
template <typename A> __device__ __forceinline__ void push(State<A>& s, A v, int i) {
    if (v != v) { s.nan = 1; return; }
    if (v > s.m) {  // v becomes the max; the old max (if any) joins t
        s.t = (s.m == ninf(A(0))) ? A(0) : (s.t + A(1)) * exp_(s.m - v);
        s.m = v;
        s.k = i;
    } else if (v != ninf(A(0))) {  // v <= m, both finite or m = +inf
        s.t += exp_(v - s.m);  // +inf = m = v a second time: exp(NaN) = NaN, as the policy wants
    }
}

// Merge two states; ties go to the smaller index, so the excluded term is the first max.
template <typename A> __device__ __forceinline__ State<A> merge(State<A> a, State<A> b) {
    State<A> r;
    r.nan = a.nan | b.nan;
    bool a_first = (a.m > b.m) || (a.m == b.m && a.k <= b.k);
    State<A> hi = a_first ? a : b, lo = a_first ? b : a;
    r.m = hi.m;
    r.k = hi.k;
    if (lo.m == ninf(A(0)) || lo.k == 0x7fffffff) {
        r.t = hi.t;  // nothing finite on the other side: never exp(-inf - (-inf))
    } else {
        r.t = hi.t + (lo.t + A(1)) * exp_(lo.m - hi.m);
    }
    return r;
}

template <typename A> __device__ __forceinline__ State<A> warp_merge(State<A> s) {
    for (int off = 16; off > 0; off >>= 1) {
        State<A> o;
        o.m = __shfl_xor_sync(0xffffffffu, s.m, off);
        o.t = __shfl_xor_sync(0xffffffffu, s.t, off);
        o.k = __shfl_xor_sync(0xffffffffu, s.k, off);
        o.nan = __shfl_xor_sync(0xffffffffu, s.nan, off);
        s = merge(s, o);
    }
    return s;
}

// The output at index i with value v, given the merged row state.
template <int OP, typename A> __device__ __forceinline__ A element(const State<A>& s, A v, int i) {
    if (s.nan || s.m == ninf(A(0))) return qnan(A(0));  // NaN row, or all -inf: NaN (policy's primary answer)
    if (OP == 0) {
        A e = (i == s.k) ? A(1) : exp_(v - s.m);
        return e / (A(1) + s.t);
    }
    return (v - s.m) - log1p_(s.t);
}

template <typename A> __device__ __forceinline__ A reduced(const State<A>& s) {
    if (s.nan) return qnan(A(0));
    if (s.m == pinf(A(0)) || s.m == ninf(A(0))) return s.m;
    return s.m + log1p_(s.t);
}

// OP: 0 softmax, 1 log_softmax, 2 logsumexp.
template <typename T, int OP, int VPT>
__device__ void warp_rows(const T* __restrict__ x, T* __restrict__ y, long long rows, int n) {
    typedef typename Acc<T>::type A;
    const int lane = threadIdx.x & 31;
    const long long row = (long long)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= rows) return;  // whole warps leave together: the shuffles below see full warps
    const T* xr = x + row * (long long)n;
    A v[VPT];
    State<A> s = empty_state<A>();
#pragma unroll
    for (int j = 0; j < VPT; ++j) {
        const int i = lane + 32 * j;
        v[j] = (i < n) ? load(xr + i) : ninf(A(0));
        if (i < n) push(s, v[j], i);
    }
    s = warp_merge(s);
    if (OP == 2) {
        if (lane == 0) store(y + row, reduced(s));
        return;
    }
    T* yr = y + row * (long long)n;
#pragma unroll
    for (int j = 0; j < VPT; ++j) {
        const int i = lane + 32 * j;
        if (i < n) store(yr + i, element<OP>(s, v[j], i));
    }
}

template <typename T> struct Vec { enum { N = 16 / sizeof(T) }; };
template <typename T> struct alignas(16) Pack { T v[Vec<T>::N]; };

template <typename T, int OP>
__device__ void block_rows(const T* __restrict__ x, T* __restrict__ y, long long rows, int n, int vec) {
    typedef typename Acc<T>::type A;
    __shared__ State<A> part[32];
    const long long row = blockIdx.x;
    if (row >= rows) return;
    const T* xr = x + row * (long long)n;
    State<A> s = empty_state<A>();
    const int N = Vec<T>::N;
    if (vec) {  // n % N == 0 and the row starts on 16 bytes: one 16-byte load per N values
        const Pack<T>* xp = reinterpret_cast<const Pack<T>*>(xr);
        for (int p = threadIdx.x; p < n / N; p += blockDim.x) {
            Pack<T> pk = xp[p];
#pragma unroll
            for (int j = 0; j < N; ++j) push(s, (A)load(&pk.v[j]), p * N + j);
        }
    } else {
        for (int i = threadIdx.x; i < n; i += blockDim.x) push(s, (A)load(xr + i), i);
    }
    s = warp_merge(s);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, warps = (blockDim.x + 31) >> 5;
    if (lane == 0) part[warp] = s;
    __syncthreads();
    if (warp == 0) {
        s = (lane < warps) ? part[lane] : empty_state<A>();
        s = warp_merge(s);
        if (lane == 0) part[0] = s;
    }
    __syncthreads();
    s = part[0];
    if (OP == 2) {
        if (threadIdx.x == 0) store(y + row, reduced(s));
        return;
    }
    T* yr = y + row * (long long)n;
    for (int i = threadIdx.x; i < n; i += blockDim.x) store(yr + i, element<OP>(s, (A)load(xr + i), i));
}

}  // namespace

#define WARP_KERNEL(T, TN, OP, ON, VPT)                                                                       \
    extern "C" __global__ void ON##_warp##VPT##_##TN(const T* x, T* y, long long rows, int n) {               \
        warp_rows<T, OP, VPT>(x, y, rows, n);                                                                 \
    }
#define BLOCK_KERNEL(T, TN, OP, ON)                                                                           \
    extern "C" __global__ void ON##_block_##TN(const T* x, T* y, long long rows, int n, int vec) {            \
        block_rows<T, OP>(x, y, rows, n, vec);                                                                \
    }
#define KERNELS_OP(T, TN, OP, ON)                                                                             \
    WARP_KERNEL(T, TN, OP, ON, 1) WARP_KERNEL(T, TN, OP, ON, 2) WARP_KERNEL(T, TN, OP, ON, 4)                \
    WARP_KERNEL(T, TN, OP, ON, 8) WARP_KERNEL(T, TN, OP, ON, 16) WARP_KERNEL(T, TN, OP, ON, 32)              \
    BLOCK_KERNEL(T, TN, OP, ON)
#define KERNELS(T, TN)                                                                                        \
    KERNELS_OP(T, TN, 0, softmax) KERNELS_OP(T, TN, 1, log_softmax) KERNELS_OP(T, TN, 2, logsumexp)

KERNELS(float, float32)
KERNELS(double, float64)
KERNELS(__half, float16)
KERNELS(__nv_bfloat16, bfloat16)
