/* The fast path's compiled kernels: softmax, log_softmax and logsumexp over rows of float32, and their VJPs (the
 * gradients' numerics are described where they are defined, in _fastkernels_body.h, and in fast_grad.py).
 *
 * Built at install as an optional extension (setup.py); implementations/_native.py loads it with ctypes, which
 * releases the GIL during each call, so the fast path's threads share one call (sstab_shared, at the end).  Without it
 * (no C compiler at install, or SOFTMAX_STABILITY_NATIVE=0) the NumPy version in fast_cpu.py runs instead.
 *
 * Numerics: the careful algorithms, as the NumPy version computes them, with the sums in float64 registers:
 *
 *   m = max x                          (a NaN, +inf or all -inf row: the policy's whole-row answer, below)
 *   d_i = x_i - m, e_i = exp(d_i)      (float32, d_i with its rounding error carried by TwoSum into the exp's
 *                                       reduced argument; exp_f32: within 1 ULP, subnormal results rounded once)
 *   softmax_i     = e_i (1/s),  s = sum e_i          (s in float64; 1/s split into two float32 parts, so that
 *                                                     the product is rounded once)
 *   log_softmax_i = ((x_i - m) - hi) - lo            (hi + lo = log1p(t) in float64, t = sum_{i != k} e_i
 *   logsumexp     = m + log1p(t)                      leaving out one position k of the max, whose term is
 *                                                     exactly 1: Blanchard, Higham & Higham 2021; logsumexp
 *                                                     in float64, rounded once)
 *
 * so every result carries the float32 exp's error (at most about 1 ULP) and one to three roundings (verify measured
 * at most 1.95 ULP for softmax and 1.58 for log_softmax), where the NumPy version has the rounding of x_i - m
 * (|x_i - m| u, up to 100 ULP and more in wide rows: within the condition number, but error), a float32 sum and a
 * float32 division or subtraction on top.  Special values follow the suite's policy
 * (stability/policy.py) exactly as the NumPy version does: a row holding a NaN, a +inf, or only -inf gives NaN
 * everywhere for softmax and log_softmax, and NaN, +inf and -inf for logsumexp; a -inf entry in a row with a
 * finite max gives 0 (softmax) or -inf (log_softmax); an empty row's logsumexp is -inf.
 *
 * Speed: the body (_fastkernels_body.h) is written in GCC vector types with no data-dependent branch, and is
 * compiled twice: for x86-64-v4 (AVX-512, 16 lanes) and for x86-64-v3 (AVX2 and FMA, 8 lanes); sstab_level() says
 * which one this CPU runs, and 0 (the NumPy version then runs) on a CPU with neither, or where the compiler is
 * not GCC on x86-64: the generic vector code measured 7-15x slower than NumPy there.  A row's max is taken in the
 * previous row's exp pass (its loads overlap that row's arithmetic); its exp pass and the pass that writes the
 * results read it from the core's L1/L2 cache, so memory sees one read of the input and one write of the output,
 * as one exp pass does.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>

#define INLINE static inline __attribute__((always_inline))

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v4")
#define W 16
#define SFX v4
#include "_fastkernels_body.h"
#undef W
#undef SFX
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("arch=x86-64-v3")
#define W 8
#define SFX v3
#include "_fastkernels_body.h"
#undef W
#undef SFX
#pragma GCC pop_options

static int sstab_cpu(void)
{
    __builtin_cpu_init();
    if (__builtin_cpu_supports("x86-64-v4"))
        return 4;
    if (__builtin_cpu_supports("x86-64-v3"))
        return 3;
    return 0;
}

static int level = -1; /* the copy the entry points run: 4, 3, or 0 for none */

/* 4: the AVX-512 copy runs; 3: the AVX2 one; 0: neither (the caller keeps to NumPy). */
int sstab_level(void)
{
    if (level < 0)
        level = sstab_cpu();
    return level;
}

/* Run copy `want` (3 or 4) from now on, for the tests to reach the AVX2 copy on an AVX-512 machine; refused (-1)
 * for a copy this CPU cannot run.  Returns the level in force before. */
int sstab_force_level(int want)
{
    int cpu = sstab_cpu(), before = sstab_level();
    if ((want != 3 && want != 4) || want > cpu)
        return -1;
    level = want;
    return before;
}

#define DISPATCH(name)                                                                                             \
    int sstab_##name##_f32(const float *x, float *o, int64_t R, int64_t n)                                       \
    {                                                                                                              \
        switch (sstab_level()) {                                                                                   \
        case 4:                                                                                                    \
            name##_v4(x, o, R, n);                                                                                 \
            return 0;                                                                                              \
        case 3:                                                                                                    \
            name##_v3(x, o, R, n);                                                                                 \
            return 0;                                                                                              \
        default:                                                                                                   \
            return -1;                                                                                             \
        }                                                                                                          \
    }
#else
int sstab_level(void) { return 0; }

int sstab_force_level(int want) { return (void)want, -1; }

#define DISPATCH(name)                                                                                             \
    int sstab_##name##_f32(const float *x, float *o, int64_t R, int64_t n) { return -1; }
#endif

/* softmax, log_softmax (o: R x n) and logsumexp (o: R) of R rows of n float32 each, row stride n; 0 on success,
 * -1 where this CPU has no compiled copy (sstab_level() == 0). */
DISPATCH(softmax)
DISPATCH(log_softmax)
DISPATCH(logsumexp)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define DISPATCH_VJP(name)                                                                                         \
    int sstab_##name##_f32(const float *x, const float *g, float *o, int64_t R, int64_t n, uint8_t *flags)       \
    {                                                                                                              \
        int lv = sstab_level();                                                                                    \
        if (lv != 3 && lv != 4)                                                                                    \
            return -1;                                                                                             \
        float *scratch = malloc(2 * ((size_t)n + 16) * sizeof(float));                                            \
        if (!scratch)                                                                                              \
            return -2;                                                                                             \
        if (lv == 4)                                                                                               \
            name##_v4(x, g, o, R, n, scratch, scratch + n + 16, flags);                                            \
        else                                                                                                       \
            name##_v3(x, g, o, R, n, scratch, scratch + n + 16, flags);                                            \
        free(scratch);                                                                                             \
        return 0;                                                                                                  \
    }
#else
#define DISPATCH_VJP(name)                                                                                         \
    int sstab_##name##_f32(const float *x, const float *g, float *o, int64_t R, int64_t n, uint8_t *flags)       \
    {                                                                                                              \
        return (void)x, (void)g, (void)o, (void)R, (void)n, (void)flags, -1;                                       \
    }
#endif

/* The VJPs of softmax and log_softmax (g, o: R x n) and of logsumexp (g: R, o: R x n) at x (R x n float32, row
 * stride n); flags[r] is set for a row left to the caller (a NaN, an infinite max or cotangent); 0 on success,
 * -1 without a copy for this CPU, -2 when the scratch row could not be allocated. */
DISPATCH_VJP(softmax_vjp)
DISPATCH_VJP(log_softmax_vjp)
DISPATCH_VJP(logsumexp_vjp)

/* One call shared by threads that join when they can.  The rows are handed out in chunks of `chunk` rows from
 * state[0]; state[1] is set once the caller has taken the last chunk (sstab_close), state[2] counts the threads
 * inside, state[3] keeps the first nonzero return code.  A thread pool's worker that has to be woken first (on a
 * virtual machine the host wakes an idle vCPU: milliseconds) joins late and takes what is left, or finds the call
 * closed and returns at once without touching the data; the caller never waits for a thread that has not joined,
 * only for those inside, each at most one chunk from done.  which: 0 softmax, 1 log_softmax, 2 logsumexp,
 * 3 softmax_vjp, 4 log_softmax_vjp, 5 logsumexp_vjp (g, flags: NULL for 0-2). */
int sstab_shared(int which, const float *x, const float *g, float *o, int64_t R, int64_t n, uint8_t *flags,
                 int64_t chunk, int64_t *state)
{
    __atomic_add_fetch(&state[2], 1, __ATOMIC_SEQ_CST);
    if (!__atomic_load_n(&state[1], __ATOMIC_SEQ_CST)) {
        for (;;) {
            int64_t a = __atomic_fetch_add(&state[0], chunk, __ATOMIC_SEQ_CST), rc = 0;
            if (a >= R)
                break;
            int64_t k = R - a < chunk ? R - a : chunk;
            const float *xa = x + a * n;
            switch (which) {
            case 0: rc = sstab_softmax_f32(xa, o + a * n, k, n); break;
            case 1: rc = sstab_log_softmax_f32(xa, o + a * n, k, n); break;
            case 2: rc = sstab_logsumexp_f32(xa, o + a, k, n); break;
            case 3: rc = sstab_softmax_vjp_f32(xa, g + a * n, o + a * n, k, n, flags + a); break;
            case 4: rc = sstab_log_softmax_vjp_f32(xa, g + a * n, o + a * n, k, n, flags + a); break;
            case 5: rc = sstab_logsumexp_vjp_f32(xa, g + a, o + a * n, k, n, flags + a); break;
            default: rc = -3;
            }
            if (rc) {
                int64_t zero = 0;
                __atomic_compare_exchange_n(&state[3], &zero, rc, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
                __atomic_store_n(&state[0], R, __ATOMIC_SEQ_CST); /* no more chunks for anyone */
                break;
            }
        }
    }
    __atomic_sub_fetch(&state[2], 1, __ATOMIC_SEQ_CST);
    return 0;
}

/* Close a shared call once the caller has left it: from now on a joining thread returns at once; wait for those
 * inside.  Returns the call's return code (state[3]). */
int sstab_close(int64_t *state)
{
    __atomic_store_n(&state[1], 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&state[2], __ATOMIC_SEQ_CST) != 0) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
    return (int)__atomic_load_n(&state[3], __ATOMIC_SEQ_CST);
}

/* An importable module, so that setuptools builds this file as an extension and importlib finds it; the kernels
 * are reached through ctypes. */
static struct PyModuleDef sstab_module = {PyModuleDef_HEAD_INIT, "_fastkernels",
                                          "The fast path's compiled kernels (loaded with ctypes).", -1, NULL};

PyMODINIT_FUNC PyInit__fastkernels(void) { return PyModule_Create(&sstab_module); }
