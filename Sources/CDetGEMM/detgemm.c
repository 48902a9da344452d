// Deterministic matrix product for gradlab's training path.
//
// Why C: the kernel must be fast (BPTT is three products per step) and bit-identical on every CPU.
// Vectorising across OUTPUT columns makes the second property independent of the SIMD width: the lanes
// hold neighbouring C[i][j], and every lane runs the same scalar recurrence s ← s + a·b over k in order.
// Swift cannot compile one function for AVX and choose it at run time, so the kernel is written once
// below and instantiated twice: generic (baseline SSE2 / NEON) and AVX (no FMA: AVX alone has no fused
// multiply-add instruction, and contraction is switched off for the whole file).
#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include "detgemm.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define GDK_X86 1
#endif

#define MR 4   // rows of the micro-tile

typedef double v4d __attribute__((vector_size(32)));

#define INL static inline __attribute__((always_inline))

INL v4d ld4(const double *p) { v4d v; memcpy(&v, p, sizeof v); return v; }
INL void st4(double *p, v4d v) { memcpy(p, &v, sizeof v); }
INL v4d splat(double x) { v4d v = {x, x, x, x}; return v; }

// MR × NR tile of C (row stride ldc) += packed A (k × MR) · packed B panel (k × NR); NR = 4 or 8.
// acc = 0: the tile starts from zero instead of C.
INL void micro(long nr, long k, const double *restrict a, const double *restrict b,
               double *restrict c, long ldc, int acc) {
    if (nr == 8) {
        v4d c00 = splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        if (acc) {
            c00 = ld4(c); c01 = ld4(c + 4); c10 = ld4(c + ldc); c11 = ld4(c + ldc + 4);
            c20 = ld4(c + 2 * ldc); c21 = ld4(c + 2 * ldc + 4); c30 = ld4(c + 3 * ldc); c31 = ld4(c + 3 * ldc + 4);
        }
        for (long p = 0; p < k; p++) {
            v4d b0 = ld4(b), b1 = ld4(b + 4);
            v4d a0 = splat(a[0]), a1 = splat(a[1]), a2 = splat(a[2]), a3 = splat(a[3]);
            c00 = c00 + a0 * b0; c01 = c01 + a0 * b1;
            c10 = c10 + a1 * b0; c11 = c11 + a1 * b1;
            c20 = c20 + a2 * b0; c21 = c21 + a2 * b1;
            c30 = c30 + a3 * b0; c31 = c31 + a3 * b1;
            a += MR; b += 8;
        }
        st4(c, c00); st4(c + 4, c01); st4(c + ldc, c10); st4(c + ldc + 4, c11);
        st4(c + 2 * ldc, c20); st4(c + 2 * ldc + 4, c21); st4(c + 3 * ldc, c30); st4(c + 3 * ldc + 4, c31);
    } else {
        v4d c0 = splat(0), c1 = c0, c2 = c0, c3 = c0;
        if (acc) { c0 = ld4(c); c1 = ld4(c + ldc); c2 = ld4(c + 2 * ldc); c3 = ld4(c + 3 * ldc); }
        for (long p = 0; p < k; p++) {
            v4d b0 = ld4(b);
            c0 = c0 + splat(a[0]) * b0;
            c1 = c1 + splat(a[1]) * b0;
            c2 = c2 + splat(a[2]) * b0;
            c3 = c3 + splat(a[3]) * b0;
            a += MR; b += 4;
        }
        st4(c, c0); st4(c + ldc, c1); st4(c + 2 * ldc, c2); st4(c + 3 * ldc, c3);
    }
}

// The driver: A packed into MR-row blocks (zero rows below m), then for every column panel and row block
// one micro-tile; tiles that stick out of C go through a small buffer (same arithmetic).
INL void drive(long nr, long m, long n, long k, const double *a, long rsa, long csa,
               const double *bp, double *c, long ldc, int acc) {
    long mb = (m + MR - 1) / MR;
    double *ap = malloc((size_t)(mb * MR * k) * sizeof(double));
    if (!ap) abort();
    for (long blk = 0; blk < mb; blk++) {
        double *dst = ap + blk * MR * k;
        const double *src = a + blk * MR * rsa;
        if (blk * MR + MR <= m) {
            for (long p = 0; p < k; p++) {
                const double *s = src + p * csa;
                dst[p * MR] = s[0]; dst[p * MR + 1] = s[rsa]; dst[p * MR + 2] = s[2 * rsa]; dst[p * MR + 3] = s[3 * rsa];
            }
        } else {
            long h = m - blk * MR;
            for (long p = 0; p < k; p++)
                for (long i = 0; i < MR; i++) dst[p * MR + i] = i < h ? src[i * rsa + p * csa] : 0.0;
        }
    }
    double tile[MR * 8];
    for (long j = 0; j < n; j += nr) {
        long w = n - j < nr ? n - j : nr;
        const double *panel = bp + (j / nr) * nr * k;
        for (long blk = 0; blk < mb; blk++) {
            long h = m - blk * MR < MR ? m - blk * MR : MR;
            double *ct = c + blk * MR * ldc + j;
            if (h == MR && w == nr) {
                micro(nr, k, ap + blk * MR * k, panel, ct, ldc, acc);
            } else {
                for (long i = 0; i < MR; i++)
                    for (long q = 0; q < nr; q++) tile[i * nr + q] = (acc && i < h && q < w) ? ct[i * ldc + q] : 0.0;
                micro(nr, k, ap + blk * MR * k, panel, tile, nr, acc);
                for (long i = 0; i < h; i++)
                    for (long q = 0; q < w; q++) ct[i * ldc + q] = tile[i * nr + q];
            }
        }
    }
    free(ap);
}

static void drive_generic4(long m, long n, long k, const double *a, long rsa, long csa,
                           const double *bp, double *c, long ldc, int acc) {
    drive(4, m, n, k, a, rsa, csa, bp, c, ldc, acc);
}
static void drive_generic8(long m, long n, long k, const double *a, long rsa, long csa,
                           const double *bp, double *c, long ldc, int acc) {
    drive(8, m, n, k, a, rsa, csa, bp, c, ldc, acc);
}
#if GDK_X86
__attribute__((target("avx")))
static void drive_avx8(long m, long n, long k, const double *a, long rsa, long csa,
                       const double *bp, double *c, long ldc, int acc) {
    drive(8, m, n, k, a, rsa, csa, bp, c, ldc, acc);
}

static int cpu_has_avx(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    if (!(ecx & bit_OSXSAVE) || !(ecx & bit_AVX)) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 6) == 6;   // the OS saves XMM and YMM state
}
#else
static int cpu_has_avx(void) { return 0; }
#endif

static int current_path = -1;

int gdk_path(void) {
    int p = __atomic_load_n(&current_path, __ATOMIC_RELAXED);
    if (p < 0) {
        const char *env = getenv("GRADLAB_KERNEL");
        p = (env && strcmp(env, "generic") == 0) ? 0 : cpu_has_avx();
        __atomic_store_n(&current_path, p, __ATOMIC_RELAXED);
    }
    return p;
}

int gdk_set_path(int path) {
    int p = (path == 1 && cpu_has_avx()) ? 1 : 0;
    __atomic_store_n(&current_path, p, __ATOMIC_RELAXED);
    return p;
}

long gdk_panel_width(void) { return gdk_path() == 1 ? 8 : 4; }

void gdk_pack_b(long k, long n, const double *b, long rsb, long csb, long nr, double *out) {
    for (long j = 0; j < n; j += nr) {
        long w = n - j < nr ? n - j : nr;
        double *panel = out + (j / nr) * nr * k;
        for (long p = 0; p < k; p++) {
            const double *src = b + p * rsb + j * csb;
            double *dst = panel + p * nr;
            long q = 0;
            if (csb == 1) { for (; q < w; q++) dst[q] = src[q]; }
            else { for (; q < w; q++) dst[q] = src[q * csb]; }
            for (; q < nr; q++) dst[q] = 0.0;
        }
    }
}

void gdk_gemm_packed(long m, long n, long k, const double *a, long rsa, long csa,
                     const double *bpacked, long nr, double *c, long ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        if (!accumulate) for (long i = 0; i < m; i++) for (long j = 0; j < n; j++) c[i * ldc + j] = 0.0;
        return;
    }
    if (nr == 8) {
#if GDK_X86
        if (gdk_path() == 1) { drive_avx8(m, n, k, a, rsa, csa, bpacked, c, ldc, accumulate); return; }
#endif
        drive_generic8(m, n, k, a, rsa, csa, bpacked, c, ldc, accumulate);
    } else {
        drive_generic4(m, n, k, a, rsa, csa, bpacked, c, ldc, accumulate);
    }
}

void gdk_gemm(long m, long n, long k, const double *a, long rsa, long csa,
              const double *b, long rsb, long csb, double *c, long ldc, int accumulate) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { gdk_gemm_packed(m, n, k, a, rsa, csa, NULL, 4, c, ldc, accumulate); return; }
    long nr = gdk_panel_width();
    long panels = (n + nr - 1) / nr;
    double *bp = malloc((size_t)(panels * nr * k) * sizeof(double));
    if (!bp) abort();
    gdk_pack_b(k, n, b, rsb, csb, nr, bp);
    gdk_gemm_packed(m, n, k, a, rsa, csa, bp, nr, c, ldc, accumulate);
    free(bp);
}
