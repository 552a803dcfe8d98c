/* The kernels' body, included by _fastkernels.c once per instruction set, with
 *   W   float32 lanes per vector (16: AVX-512; 8: AVX2),
 *   SFX the suffix of this copy's names (v4, v3).
 * Everything here is static; _fastkernels.c exports the dispatching entry points. */

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)
#define N(name) CAT(name, SFX)

typedef float N(vf) __attribute__((vector_size(4 * W)));   /* W float32 */
typedef int32_t N(vi) __attribute__((vector_size(4 * W))); /* W int32: comparison masks */
typedef float N(vh) __attribute__((vector_size(2 * W)));   /* W/2 float32: half of a vf */
typedef double N(vd) __attribute__((vector_size(4 * W)));  /* W/2 float64 */
#define vf N(vf)
#define vi N(vi)
#define vh N(vh)
#define vd N(vd)

#if W == 16
#define ALL_IDX 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
#else
#define ALL_IDX 0, 1, 2, 3, 4, 5, 6, 7
#endif


INLINE vf N(splat)(float a) { return (vf){0} + a; }

INLINE vf N(sel)(vi mask, vf a, vf b) { return (vf)(((vi)a & mask) | ((vi)b & ~mask)); }

/* The k <= W entries at p as a vector, the lanes past k set to pad. */
INLINE vf N(load)(const float *p, int64_t k, float pad)
{
    vf v;
    if (k == W) {
        memcpy(&v, p, sizeof v);
    } else {
        float b[W];
        for (int j = 0; j < W; j++)
            b[j] = j < k ? p[j] : pad;
        memcpy(&v, b, sizeof v);
    }
    return v;
}

INLINE void N(store)(float *p, vf v, int64_t k)
{
    if (k == W) {
        memcpy(p, &v, sizeof v);
    } else {
        float b[W];
        memcpy(b, &v, sizeof v);
        for (int j = 0; j < k; j++)
            p[j] = b[j];
    }
}

/* The low and the high half of v in float64 (intrinsics: GCC's generic conversion goes through 4 lanes at a
 * time). */
#if W == 16
INLINE vd N(lo_d)(vf v) { return (vd)_mm512_cvtps_pd(_mm512_castps512_ps256((__m512)v)); }

INLINE vd N(hi_d)(vf v) { return (vd)_mm512_cvtps_pd(_mm512_extractf32x8_ps((__m512)v, 1)); }
#else
INLINE vd N(lo_d)(vf v) { return (vd)_mm256_cvtps_pd(_mm256_castps256_ps128((__m256)v)); }

INLINE vd N(hi_d)(vf v) { return (vd)_mm256_cvtps_pd(_mm256_extractf128_ps((__m256)v, 1)); }
#endif

INLINE vf N(join)(vd lo, vd hi)
{
    return __builtin_shufflevector(__builtin_convertvector(lo, vh), __builtin_convertvector(hi, vh), ALL_IDX);
}

/* Horizontal reductions, as trees of lane swaps (a chain over the lanes costs more than a short row's work). */
#if W == 16
#define SWAP8 8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7
#define SWAP4 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15, 8, 9, 10, 11
#define SWAP2 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13
#define SWAP1 1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14
#define TREE(op, v)                                                                                                \
    (v = op(v, __builtin_shufflevector(v, v, SWAP8)), v = op(v, __builtin_shufflevector(v, v, SWAP4)),            \
     v = op(v, __builtin_shufflevector(v, v, SWAP2)), v = op(v, __builtin_shufflevector(v, v, SWAP1)), v[0])
#define DSWAP4 4, 5, 6, 7, 0, 1, 2, 3
#define DSWAP2 2, 3, 0, 1, 6, 7, 4, 5
#define DSWAP1 1, 0, 3, 2, 5, 4, 7, 6
#define DTREE(v)                                                                                                   \
    (v = v + __builtin_shufflevector(v, v, DSWAP4), v = v + __builtin_shufflevector(v, v, DSWAP2),                \
     v = v + __builtin_shufflevector(v, v, DSWAP1), v[0])
#else
#define SWAP4 4, 5, 6, 7, 0, 1, 2, 3
#define SWAP2 2, 3, 0, 1, 6, 7, 4, 5
#define SWAP1 1, 0, 3, 2, 5, 4, 7, 6
#define TREE(op, v)                                                                                                \
    (v = op(v, __builtin_shufflevector(v, v, SWAP4)), v = op(v, __builtin_shufflevector(v, v, SWAP2)),            \
     v = op(v, __builtin_shufflevector(v, v, SWAP1)), v[0])
#define DTREE(v) (v = v + __builtin_shufflevector(v, v, 2, 3, 0, 1), v = v + __builtin_shufflevector(v, v, 1, 0, 3, 2), v[0])
#endif

INLINE vf N(vmax)(vf a, vf b) { return N(sel)(a > b, a, b); }
INLINE vi N(vor)(vi a, vi b) { return a | b; }
INLINE vi N(vadd)(vi a, vi b) { return a + b; }

INLINE float N(hmax)(vf v) { return TREE(N(vmax), v); }
INLINE int32_t N(hor)(vi v) { return TREE(N(vor), v); }
INLINE int32_t N(hadd)(vi v) { return TREE(N(vadd), v); }
INLINE double N(hsum)(vd v) { return DTREE(v); }

/* exp(d + c) for d <= 0 (-inf included; no NaN) and a correction |c| <= 2^-23 |d| (the rounding error of d, from
 * TwoSum), as y 2^nf: y in [0.7, 1.42] a float32 and nf an integer (held as a float).  Cody-Waite reduction
 * d = n ln2 + r, |r| <= ln2/2, with Cephes' two-part ln2 (n C1 exact for |n| < 2^15), c added to r; exp(r) =
 * 1 + r + r^2 P(r), Cephes' degree-5 minimax P: y 2^n within 1.37 units of 2^-24 of exp(d + c), measured over
 * 200,000 arguments in [-200, 0] against float64.  Below lo the result is exactly 0 (e^-104 rounds to 0 in
 * float32, and e^-200 times the largest float32 is below half its smallest subnormal; masked entries too). */
INLINE vf N(exp_parts)(vf d, vf c, float lo, vf *nf_out)
{
    const float shifter = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer in the low mantissa bits */
    vi far = d < N(splat)(lo);
    d = N(sel)(far, N(splat)(lo), d);
    c = N(sel)(far, N(splat)(0.0f), c);
    vf nf = (d * 1.44269504088896341f + shifter) - shifter;
    vf r = d - nf * 0.693359375f;
    r = (r - nf * -2.12194440e-4f) + c;
    vf p = N(splat)(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    *nf_out = nf;
    return N(sel)(far, N(splat)(0.0f), (p * (r * r) + r) + 1.0f); /* below lo: exactly 0 (masked entries too) */
}

/* The same as one float32, the scaling by 2^n rounding a subnormal result once. */
INLINE vf N(exp_f32)(vf d, vf c)
{
    vf nf, y = N(exp_parts)(d, c, -104.0f, &nf);
#if W == 16
    return _mm512_scalef_ps(y, nf); /* y 2^nf, rounded once, subnormals included */
#else
    vi n = __builtin_convertvector(nf, vi);
    vi n1 = n >> 1, n2 = n - n1; /* both >= -75: normal scales, so only the last product rounds */
    return (y * (vf)((n1 + 127) << 23)) * (vf)((n2 + 127) << 23);
#endif
}

/* x - m as a float32 d and its rounding error c: d + c = x - m exactly (Knuth's TwoSum; c is NaN where d is
 * infinite, which exp_f32 reads as 0). */
INLINE vf N(diff)(vf x, vf m, vf *c)
{
    vf d = x - m;
    vf b = d - x;
    *c = (x - (d - b)) + (-m - b);
    return d;
}

/* A row's max, W lanes at a time, and whether the row holds a NaN.  With AVX-512: vmaxps (which returns its
 * second operand, the running max, where the entry is a NaN) and the NaNs kept in a mask register: three
 * instructions an entry where the generic select takes five. */
#if W == 16
typedef struct {
    vf mx;
    __mmask16 nan;
} N(maxacc);

INLINE N(maxacc) N(max_start)(void) { return (N(maxacc)){N(splat)(-INFINITY), 0}; }

INLINE void N(max_add)(N(maxacc) *a, vf v)
{
    a->mx = (vf)_mm512_max_ps((__m512)v, (__m512)a->mx);
    a->nan |= _mm512_cmp_ps_mask((__m512)v, (__m512)v, _CMP_UNORD_Q);
}

INLINE float N(max_end)(N(maxacc) *a, int *bad)
{
    *bad = a->nan != 0;
    return N(hmax)(a->mx);
}
#else
typedef struct {
    vf mx;
    vi nan;
} N(maxacc);

INLINE N(maxacc) N(max_start)(void) { return (N(maxacc)){N(splat)(-INFINITY), (vi){0}}; }

INLINE void N(max_add)(N(maxacc) *a, vf v)
{
    a->mx = N(sel)(v > a->mx, v, a->mx);
    a->nan |= v != v;
}

INLINE float N(max_end)(N(maxacc) *a, int *bad)
{
    *bad = N(hor)(a->nan) != 0;
    return N(hmax)(a->mx);
}
#endif

/* exp(d + c) where v < m and 0 elsewhere (exp_sum's terms without the max ones), the entries equal to m counted
 * into *ties.  With AVX-512 the scaling's own zeroing mask drops the terms and a popcount of a compare mask
 * counts the ties; the generic select and vector count took three more instructions an entry. */
#if W == 16
typedef int N(tiecount);

INLINE vf N(exp_below)(vf d, vf c, vf v, vf m, N(tiecount) *ties)
{
    vf nf, y = N(exp_parts)(d, c, -104.0f, &nf);
    *ties += __builtin_popcount(_mm512_cmp_ps_mask((__m512)v, (__m512)m, _CMP_EQ_OQ));
    return (vf)_mm512_maskz_scalef_ps(_mm512_cmp_ps_mask((__m512)v, (__m512)m, _CMP_LT_OQ), (__m512)y, (__m512)nf);
}

INLINE int N(ties_end)(N(tiecount) ties) { return ties; }
#else
typedef vi N(tiecount);

INLINE vf N(exp_below)(vf d, vf c, vf v, vf m, N(tiecount) *ties)
{
    *ties -= v == m;
    return N(sel)(v < m, N(exp_f32)(d, c), N(splat)(0.0f));
}

INLINE int N(ties_end)(N(tiecount) ties) { return N(hadd)(ties); }
#endif

/* The row's max; *bad is set when the row holds a NaN. */
INLINE float N(row_max)(const float *x, int64_t n, int *bad)
{
    N(maxacc) a = N(max_start)();
    for (int64_t i = 0; i < n; i += W)
        N(max_add)(&a, N(load)(x + i, n - i < W ? n - i : W, -INFINITY));
    return N(max_end)(&a, bad);
}

/* With e: sum_i exp(x_i - m), the exponentials written to e.  Without: sum_{x_i < m} exp(x_i - m) + (the
 * number of entries equal to m) - 1, the sum without one max term.
 * With next (the next row, or NULL), its max goes to *next_m and *next_bad: computed in the same loop, so that
 * its loads from memory overlap this row's arithmetic instead of stalling a pass of their own (measured: the max
 * pass alone was a quarter of logsumexp's time at 4096 x 4096). */
INLINE double N(exp_sum)(const float *x, float *e, int64_t n, float m, const float *next, float *next_m,
                         int *next_bad, float *will_write)
{
    vd lo = {0}, hi = {0};
    N(tiecount) ties = {0};
    vf mv = N(splat)(m);
    N(maxacc) nx = N(max_start)();
    for (int64_t i = 0; i < n; i += W) {
        int64_t k = n - i < W ? n - i : W;
        if (next) {
            N(max_add)(&nx, N(load)(next + i, k, -INFINITY));
            __builtin_prefetch(next + i + 256); /* 1 KiB ahead: 4-13% faster at 4096 x 4096 (measured) */
        }
        if (will_write) /* log_softmax's output row, fetched for writing while this loop computes: 5-10% */
            __builtin_prefetch(will_write + i, 1);
        vf v = N(load)(x + i, k, -INFINITY), c;
        vf d = N(diff)(v, mv, &c);
        vf ev;
        if (e) {
            ev = N(exp_f32)(d, c);
            N(store)(e + i, ev, k);
        } else {
            ev = N(exp_below)(d, c, v, mv, &ties);
        }
        lo += N(lo_d)(ev);
        hi += N(hi_d)(ev);
    }
    if (next)
        *next_m = N(max_end)(&nx, next_bad);
    if (e)
        return N(hsum)(lo + hi);
    return N(hsum)(lo + hi) + (double)(N(ties_end)(ties) - 1);
}

/* The max of the row after x (when there is one) into *m and *bad, for a row exp_sum does not run on. */
INLINE void N(next_max)(const float *next, int64_t n, float *m, int *bad)
{
    if (next)
        *m = N(row_max)(next, n, bad);
}

INLINE void N(fill)(float *o, int64_t n, float v)
{
    for (int64_t i = 0; i < n; i++)
        o[i] = v;
}

static void N(softmax)(const float *x, float *o, int64_t R, int64_t n)
{
    int bad = 0;
    float m = R ? N(row_max)(x, n, &bad) : 0.0f;
    for (int64_t r = 0; r < R; r++, x += n, o += n) {
        const float *next = r + 1 < R ? x + n : NULL;
        float m_next = 0.0f;
        int bad_next = 0;
        if (bad || isinf(m)) {
            N(fill)(o, n, NAN);
            N(next_max)(next, n, &m_next, &bad_next);
            m = m_next, bad = bad_next;
            continue;
        }
        double inv = 1.0 / N(exp_sum)(x, o, n, m, next, &m_next, &bad_next, NULL); /* the sum >= 1: the max term */
        m = m_next, bad = bad_next;
        float hi = (float)inv, lo = (float)(inv - hi); /* e (hi + lo) = e inv to about 2^-46: one rounding */
        for (int64_t i = 0; i < n; i += W) {
            int64_t k = n - i < W ? n - i : W;
            vf ev = N(load)(o + i, k, 0.0f);
            N(store)(o + i, ev * hi + ev * lo, k);
        }
    }
}

typedef int64_t N(vl) __attribute__((vector_size(4 * W))); /* W/2 int64 */
#define vl N(vl)

/* log1p(t) for W/2 values t >= 0 (finite), to within a few units of 2^-52: u = 1 + t rounded, log1p(t) = log u +
 * (t - (u - 1)) / u (u - 1 is exact); log u = e ln2 + log f, u = 2^e f, f in [sqrt(1/2), sqrt(2)), and log f =
 * 2 atanh(s), s = (f - 1) / (f + 1), |s| < 0.172, by its series to s^15 (remainder below 2^-56).  One libm
 * log1p per row costs as much as the rest of a row of 128 (measured), so the rows' sums are taken W/2 at a time. */
INLINE vd N(log1p_d)(vd t)
{
    vd u = t + 1.0;
    vl bits = (vl)u;
    vl e = ((bits >> 52) & 0x7ff) - 1023;
    vd f = (vd)((bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL); /* in [1, 2) */
    vl big = f > 1.4142135623730951;
    f = (vd)(((vl)(f * 0.5) & big) | ((vl)f & ~big));
    e = e - big; /* big is -1 where set */
    vd s = (f - 1.0) / (f + 1.0), z = s * s;
    vd p = (vd){0} + 1.0 / 15;
    p = p * z + 1.0 / 13;
    p = p * z + 1.0 / 11;
    p = p * z + 1.0 / 9;
    p = p * z + 1.0 / 7;
    p = p * z + 1.0 / 5;
    p = p * z + 1.0 / 3;
    vd ed = __builtin_convertvector(e, vd);
    vd logu = ed * 6.93147180369123816490e-01 + ((2.0 * s) * z * p + (ed * 1.90821492927058770002e-10 + 2.0 * s));
    return logu + (t - (u - 1.0)) / u;
}

/* Rows up to this long are taken W/2 at a time; a longer row alone, so that it is still in L1 when log_softmax
 * writes its results (a group of 8 rows of 4096 is not: 14% slower, measured). */
#define GROUP_ROW 512

/* The rows r0, ..., r0 + g - 1 (g <= W/2): their max, and log1p of their sum without one max term, or a flag
 * (1: the row holds a NaN; 2: its max is infinite, every entry -inf included).  *cm and *cbad carry a row's max
 * from one call to the next: row r0's on entry, row r0 + g's on return.  out (or NULL): where the rows' results
 * will be written, fetched for writing meanwhile. */
INLINE vd N(row_group)(const float *x, int64_t r0, int g, int64_t R, int64_t n, float *m, int *flag, float *cm,
                       int *cbad, float *out)
{
    double t[W / 2];
    for (int j = 0; j < W / 2; j++) {
        t[j] = 0.0;
        flag[j] = 0;
        m[j] = 0.0f;
    }
    for (int j = 0; j < g; j++) {
        const float *row = x + (r0 + j) * n, *next = r0 + j + 1 < R ? row + n : NULL;
        m[j] = *cm;
        flag[j] = *cbad ? 1 : isinf(m[j]) ? 2 : 0;
        if (flag[j])
            N(next_max)(next, n, cm, cbad);
        else
            t[j] = N(exp_sum)(row, NULL, n, m[j], next, cm, cbad, out ? out + (r0 + j) * n : NULL);
    }
    vd tv;
    memcpy(&tv, t, sizeof tv);
    return N(log1p_d)(tv);
}

static void N(log_softmax)(const float *x, float *o, int64_t R, int64_t n)
{
    int G = n <= GROUP_ROW ? W / 2 : 1, cbad = 0;
    float cm = R ? N(row_max)(x, n, &cbad) : 0.0f;
    for (int64_t r0 = 0; r0 < R; r0 += G) {
        int g = R - r0 < G ? (int)(R - r0) : G, flag[W / 2];
        float m[W / 2];
        vd lp = N(row_group)(x, r0, g, R, n, m, flag, &cm, &cbad, o);
        for (int j = 0; j < g; j++) {
            const float *row = x + (r0 + j) * n;
            float *out = o + (r0 + j) * n;
            if (flag[j]) {
                N(fill)(out, n, NAN);
                continue;
            }
            float hi = (float)lp[j], lo = (float)(lp[j] - hi);
            for (int64_t i = 0; i < n; i += W) {
                /* ((x - m) - hi) - lo: x - m is exact where it would cancel (Sterbenz), and |x - m| <= |result|
                 * (x - m <= 0 <= hi), so the three roundings stay within about 1.5 ULP of the result */
                int64_t k = n - i < W ? n - i : W;
                N(store)(out + i, ((N(load)(row + i, k, 0.0f) - m[j]) - hi) - lo, k);
            }
        }
    }
}

static void N(logsumexp)(const float *x, float *o, int64_t R, int64_t n)
{
    int G = n <= GROUP_ROW ? W / 2 : 1, cbad = 0;
    float cm = R ? N(row_max)(x, n, &cbad) : 0.0f;
    for (int64_t r0 = 0; r0 < R; r0 += G) {
        int g = R - r0 < G ? (int)(R - r0) : G, flag[W / 2];
        float m[W / 2];
        vd lp = N(row_group)(x, r0, g, R, n, m, flag, &cm, &cbad, NULL);
        for (int j = 0; j < g; j++) /* NaN; +inf, or -inf for an all -inf row and the empty one (log 0) */
            o[r0 + j] = flag[j] == 1 ? NAN : flag[j] == 2 ? m[j] : (float)((double)m[j] + lp[j]);
    }
}


/* ---- gradients (VJPs) ----------------------------------------------------------------------------------------
 * float32 data and a float32 scratch row (each weight exp(x_i - m) kept as y 2^n, y a float32 within about 1 ULP,
 * so that a weight below the float32 range keeps its bits: its product with a large cotangent can be a normal
 * number); the sums, and the last products of each result, in float64 registers, rounded once.  A row with a NaN,
 * an infinite max or an infinite cotangent is flagged, not computed: the caller's row version gives it the
 * policy's answer (implementations/fast_grad.py). */

/* Where exp(d) times the largest float32 cotangent still rounds to nonzero: d > -(149 + 128) ln 2 = -192. */
#define VJP_LO -200.0f

/* The W/2-lane halves of the weight y 2^n as float64 (2^n applied by vscalefpd, or built in the exponent field). */
INLINE void N(weights_of)(vf yv, vf nv, vd *lo, vd *hi)
{
#if W == 16
    *lo = (vd)_mm512_scalef_pd((__m512d)N(lo_d)(yv), (__m512d)N(lo_d)(nv));
    *hi = (vd)_mm512_scalef_pd((__m512d)N(hi_d)(yv), (__m512d)N(hi_d)(nv));
#else
    vl nlo = __builtin_convertvector(N(lo_d)(nv), vl), nhi = __builtin_convertvector(N(hi_d)(nv), vl);
    *lo = N(lo_d)(yv) * (vd)((nlo + 1023) << 52);
    *hi = N(hi_d)(yv) * (vd)((nhi + 1023) << 52);
#endif
}

/* The same from the scratch row. */
INLINE void N(weights)(const float *y, const float *nf, int64_t i, int64_t k, vd *lo, vd *hi)
{
    N(weights_of)(N(load)(y + i, k, 0.0f), N(load)(nf + i, k, 0.0f), lo, hi);
}

/* Pass 1 of a VJP row: x's max (and whether x holds a NaN), and g's min, max and whether g holds a NaN or inf. */
INLINE float N(vjp_scan)(const float *x, const float *g, int64_t n, int *bad, float *gmin, float *gmax)
{
    N(maxacc) a = N(max_start)();
    vf lo = N(splat)(INFINITY), hi = N(splat)(-INFINITY);
    vi nonfinite = {0};
    for (int64_t i = 0; i < n; i += W) {
        int64_t k = n - i < W ? n - i : W;
        N(max_add)(&a, N(load)(x + i, k, -INFINITY));
        if (g) {
            vf gv = N(load)(g + i, k, 0.0f), z = gv - gv;
            nonfinite |= z != z;
            lo = N(sel)(gv < lo, gv, lo);
            hi = N(sel)(gv > hi, gv, hi);
        }
    }
    float m = N(max_end)(&a, bad);
    if (g) {
        *bad |= N(hor)(nonfinite) != 0;
        *gmax = N(hmax)(hi);
        lo = -lo;
        *gmin = -N(hmax)(lo);
    }
    *bad |= isinf(m) != 0; /* isinf may answer -1 for -inf */
    return m;
}

/* Pass 2: the weights exp(x_i - m) into the scratch rows; returns sum_{x_i < m} w_i, and with g, sum g_i w_i
 * into *gw, sum g_i into *gs and sum_{x_i < m} g_i into *grest; *ties counts the entries equal to m. */
INLINE double N(vjp_weights)(const float *x, const float *g, int64_t n, float m, float *y, float *nf, double *gw,
                             double *gs, double *grest, int64_t *ties)
{
    vd t_lo = {0}, t_hi = {0}, gw_lo = {0}, gw_hi = {0}, gs_lo = {0}, gs_hi = {0}, gr_lo = {0}, gr_hi = {0};
    vi z = {0};
    vf mv = N(splat)(m);
    for (int64_t i = 0; i < n; i += W) {
        int64_t k = n - i < W ? n - i : W;
        vf v = N(load)(x + i, k, -INFINITY), c, nv;
        vf d = N(diff)(v, mv, &c); /* before c is read: an argument list has no order of evaluation */
        vf yv = N(exp_parts)(d, c, VJP_LO, &nv);
        N(store)(y + i, yv, k);
        N(store)(nf + i, nv, k);
        vd wl, wh;
        N(weights_of)(yv, nv, &wl, &wh);
        vi below = v < mv;
        vf zero = N(splat)(0.0f);
        vd bl = N(lo_d)(N(sel)(below, N(splat)(1.0f), zero)), bh = N(hi_d)(N(sel)(below, N(splat)(1.0f), zero));
        t_lo += wl * bl;
        t_hi += wh * bh;
        z -= v == mv;
        if (g) {
            vf gv = N(load)(g + i, k, 0.0f);
            vd gl = N(lo_d)(gv), gh = N(hi_d)(gv);
            gw_lo += wl * gl;
            gw_hi += wh * gh;
            gs_lo += gl;
            gs_hi += gh;
            gr_lo += gl * bl;
            gr_hi += gh * bh;
        }
    }
    *ties = N(hadd)(z);
    if (g) {
        *gw = N(hsum)(gw_lo + gw_hi);
        *gs = N(hsum)(gs_lo + gs_hi);
        *grest = N(hsum)(gr_lo + gr_hi);
    }
    return N(hsum)(t_lo + t_hi);
}

INLINE double N(clamp)(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Passes 1 and 2 of a VJP row, what every formula needs: x's max, the sum t without one max term (every tie but
 * one counted as exactly 1), the count z of ties, and with g (NULL for logsumexp's one cotangent per row) its
 * min and max, sum g_i w_i, sum g_i and sum_{x_i < m} g_i; the weights go to the scratch rows y, nf.  0 for a
 * row left to the caller (a NaN, an infinite max or cotangent). */
typedef struct {
    float m, gmin, gmax;
    double t, gw, gs, grest;
    int64_t z;
} N(vjprow);

INLINE int N(vjp_row)(const float *x, const float *g, int64_t n, float *y, float *nf, N(vjprow) *a)
{
    int bad;
    *a = (N(vjprow)){0};
    a->m = N(vjp_scan)(x, g, n, &bad, &a->gmin, &a->gmax);
    if (bad)
        return 0;
    a->t = N(vjp_weights)(x, g, n, a->m, y, nf, &a->gw, &a->gs, &a->grest, &a->z) + (double)(a->z - 1);
    return 1;
}

/* softmax's VJP: s_i (h_i - <h, s>), h = g - m, m = <g, s> clamped to [min g, max g] (centred on the weighted
 * mean, then refined: every error relative to |g_i - m|; a constant g gives exactly 0). */
static void N(softmax_vjp)(const float *x, const float *g, float *o, int64_t R, int64_t n, float *y, float *nf,
                           uint8_t *flags)
{
    for (int64_t r = 0; r < R; r++, x += n, g += n, o += n) {
        N(vjprow) a;
        flags[r] = !N(vjp_row)(x, g, n, y, nf, &a);
        if (flags[r])
            continue;
        double S = 1.0 + a.t, mean = N(clamp)(a.gw / S, a.gmin, a.gmax), inv = 1.0 / S;
        vd c_lo = {0}, c_hi = {0};
        for (int64_t i = 0; i < n; i += W) {
            int64_t k = n - i < W ? n - i : W;
            vd wl, wh;
            N(weights)(y, nf, i, k, &wl, &wh);
            vf gv = N(load)(g + i, k, 0.0f);
            c_lo += wl * (N(lo_d)(gv) - mean);
            c_hi += wh * (N(hi_d)(gv) - mean);
        }
        double c = N(hsum)(c_lo + c_hi) * inv;
        for (int64_t i = 0; i < n; i += W) {
            int64_t k = n - i < W ? n - i : W;
            vd wl, wh;
            N(weights)(y, nf, i, k, &wl, &wh);
            vf gv = N(load)(g + i, k, 0.0f);
            vd ol = (wl * inv) * ((N(lo_d)(gv) - mean) - c), oh = (wh * inv) * ((N(hi_d)(gv) - mean) - c);
            N(store)(o + i, N(join)(ol, oh), k);
        }
    }
}

/* log_softmax's VJP: g_i - w_i q, q = sum(g) / S (clamped to [min g, max g] in a flat row, where it is the mean
 * of g); at a lone dominant max (t < 1), (g_k t - sum_{j != k} g_j) / S, which does not cancel. */
static void N(log_softmax_vjp)(const float *x, const float *g, float *o, int64_t R, int64_t n, float *y, float *nf,
                               uint8_t *flags)
{
    for (int64_t r = 0; r < R; r++, x += n, g += n, o += n) {
        N(vjprow) a;
        flags[r] = !N(vjp_row)(x, g, n, y, nf, &a);
        if (flags[r])
            continue;
        double S = 1.0 + a.t, q = a.gs / S;
        if (a.z == n)
            q = N(clamp)(q, a.gmin, a.gmax);
        for (int64_t i = 0; i < n; i += W) {
            int64_t k = n - i < W ? n - i : W;
            vd wl, wh;
            N(weights)(y, nf, i, k, &wl, &wh);
            vf gv = N(load)(g + i, k, 0.0f);
            N(store)(o + i, N(join)(N(lo_d)(gv) - wl * q, N(hi_d)(gv) - wh * q), k);
        }
        if (a.z == 1 && a.t < 1.0) {
            int64_t j = 0;
            while (x[j] != a.m)
                j++;
            o[j] = (float)(((double)g[j] * a.t - a.grest) / S);
        }
    }
}

/* logsumexp's VJP: g w_i / S, one cotangent per row. */
static void N(logsumexp_vjp)(const float *x, const float *g, float *o, int64_t R, int64_t n, float *y, float *nf,
                             uint8_t *flags)
{
    for (int64_t r = 0; r < R; r++, x += n, o += n) {
        N(vjprow) a;
        flags[r] = !isfinite(g[r]) || !N(vjp_row)(x, NULL, n, y, nf, &a);
        if (flags[r])
            continue;
        double q = (double)g[r] / (1.0 + a.t);
        for (int64_t i = 0; i < n; i += W) {
            int64_t k = n - i < W ? n - i : W;
            vd wl, wh;
            N(weights)(y, nf, i, k, &wl, &wh);
            N(store)(o + i, N(join)(wl * q, wh * q), k);
        }
    }
}

#undef VJP_LO
#undef vl
#undef ALL_IDX
#undef GROUP_ROW
#undef vf
#undef vi
#undef vh
#undef vd
#undef SWAP8
#undef SWAP4
#undef SWAP2
#undef SWAP1
#undef DSWAP4
#undef DSWAP2
#undef DSWAP1
#undef TREE
#undef DTREE
