/* scripts/bench/blis_sgemm.c — the ceiling: BLIS's own sgemm on n x n x n, called directly
   (no recur in between), so benchmarks can report recur as a share of it. */
#include <blis.h>
#include <stdio.h>
#include <stdlib.h>
#include "timing.h"

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s N THREADS [REPEATS]\n"
                    "prints: arch, N, threads, median GFLOP/s of BLIS sgemm N x N x N\n", argv[0]);
    return 2;
  }
  int n = atoi(argv[1]), threads = atoi(argv[2]), reps = argc > 3 ? atoi(argv[3]) : 7;
  if (n < 1 || threads < 1 || reps < 1 || reps > 100) {
    fprintf(stderr, "%s: N, THREADS >= 1 and REPEATS in 1..100\n", argv[0]);
    return 2;
  }
  bli_init();
  bli_thread_set_num_threads(threads);
  size_t bytes = sizeof(float) * (size_t)n * (size_t)n;
  float *a = aligned_alloc(64, bytes), *b = aligned_alloc(64, bytes), *c = aligned_alloc(64, bytes);
  if (!a || !b || !c) {
    fprintf(stderr, "%s: out of memory for N=%d\n", argv[0], n);
    return 1;
  }
  for (size_t i = 0; i < (size_t)n * (size_t)n; i++) {
    a[i] = (float)(i % 17) * 0.01f;
    b[i] = (float)(i % 13) * 0.01f;
  }
  float one = 1, zero = 0;
  double times[100];
  for (int r = -1; r < reps; r++) { /* one warm-up */
    double t0 = bench_now();
    bli_sgemm(BLIS_NO_TRANSPOSE, BLIS_NO_TRANSPOSE, n, n, n, &one, a, n, 1, b, n, 1, &zero, c,
              n, 1);
    if (r >= 0) times[r] = bench_now() - t0;
  }
  double median = bench_median(times, reps);
  printf("%s %d %d %.2f\n", bli_arch_string(bli_arch_query_id()), n, threads,
         2.0 * n * (double)n * n / median * 1e-9);
  free(a), free(b), free(c);
  return 0;
}
