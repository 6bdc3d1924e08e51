/* The machine's AVX-512 multiply-add peak, for the GMAC/s figures of docs/kernels.md:
 * 12 independent chains of vfmadd (latency 4 × 2 ports needs ≥ 8), no memory traffic.
 *
 *   gcc -O2 -mavx512f -mfma scripts/fma-peak.c -o target/fma-peak && target/fma-peak
 *
 * (A first try that kept the chains in an array measured 2.6 G FMA/s: the compiler stored
 * the array every iteration, and the stores, not the FMAs, set the pace.) */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

#define N 200000000L

int main(int argc, char **argv) {
    (void)argv;
    const __m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.999999f);
    /* Distinct starting values: equal chains would be merged by the compiler. */
    __m512 a0 = _mm512_set1_ps(argc), a1 = _mm512_set1_ps(argc + 1), a2 = _mm512_set1_ps(argc + 2),
           a3 = _mm512_set1_ps(argc + 3), a4 = _mm512_set1_ps(argc + 4), a5 = _mm512_set1_ps(argc + 5),
           a6 = _mm512_set1_ps(argc + 6), a7 = _mm512_set1_ps(argc + 7), a8 = _mm512_set1_ps(argc + 8),
           a9 = _mm512_set1_ps(argc + 9), a10 = _mm512_set1_ps(argc + 10), a11 = _mm512_set1_ps(argc + 11);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long n = 0; n < N; n++) {
        a0 = _mm512_fmadd_ps(a0, x, y); a1 = _mm512_fmadd_ps(a1, x, y); a2 = _mm512_fmadd_ps(a2, x, y);
        a3 = _mm512_fmadd_ps(a3, x, y); a4 = _mm512_fmadd_ps(a4, x, y); a5 = _mm512_fmadd_ps(a5, x, y);
        a6 = _mm512_fmadd_ps(a6, x, y); a7 = _mm512_fmadd_ps(a7, x, y); a8 = _mm512_fmadd_ps(a8, x, y);
        a9 = _mm512_fmadd_ps(a9, x, y); a10 = _mm512_fmadd_ps(a10, x, y); a11 = _mm512_fmadd_ps(a11, x, y);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    __m512 r = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    r = _mm512_add_ps(r, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    printf("AVX-512: %.2f G vfmadd/s = %.1f GMAC/s (f32)   [checksum %g]\n", 12.0 * N / s / 1e9,
           16 * 12.0 * N / s / 1e9, _mm512_reduce_add_ps(r));
    return 0;
}
