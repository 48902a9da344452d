// Deterministic matrix product for the training path (see detgemm.c). Every output element is summed in
// one fixed order, C[i][j] = ((C0 + A[i][0]·B[0][j]) + A[i][1]·B[1][j]) + …, with separate multiplies and
// adds (never fused), so the result is bit-identical on every CPU and SIMD width.
#ifndef GRADLAB_DETGEMM_H
#define GRADLAB_DETGEMM_H

#ifdef __cplusplus
extern "C" {
#endif

/// The kernel in use: 0 = generic (SSE2 on x86-64, NEON on arm64), 1 = AVX. Chosen once from the CPU;
/// GRADLAB_KERNEL=generic in the environment forces the generic one. Both give the same bits.
int gdk_path(void);
/// Forces a path for tests (1 = AVX is ignored when the CPU lacks AVX); returns the path now in use.
int gdk_set_path(int path);
/// Column-panel width used to pack B for the current path (4 or 8).
long gdk_panel_width(void);

/// Packs op(B) (k × n; element (p, j) at b[p*rsb + j*csb]) into column panels of width nr
/// (gdk_panel_width()): out must hold ceil(n / nr) · nr · k doubles. Panels are zero-padded.
void gdk_pack_b(long k, long n, const double *b, long rsb, long csb, long nr, double *out);

/// C (m × n, row stride ldc) ← (accumulate ? C : 0) + op(A)·op(B), where op(A) is m × k with element (i, p)
/// at a[i*rsa + p*csa] and op(B) was packed by gdk_pack_b with panel width nr.
void gdk_gemm_packed(long m, long n, long k, const double *a, long rsa, long csa,
                     const double *bpacked, long nr, double *c, long ldc, int accumulate);

/// The same with op(B) given by strides (packed internally).
void gdk_gemm(long m, long n, long k, const double *a, long rsa, long csa,
              const double *b, long rsb, long csb, double *c, long ldc, int accumulate);

#ifdef __cplusplus
}
#endif
#endif
