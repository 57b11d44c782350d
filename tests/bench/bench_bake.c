/*
 * bench_bake: how fast badges are baked into and read out of pictures (lib/vc/bake.h), for a
 * credential of the size masteryd issues (~3 KiB) and one of 64 KiB, in the default PNG medal
 * and SVG. Prints operations per second; asserts only that every round trip is exact.
 *
 *   build/bin/bench_bake [N]      (N round trips per case, default 20000)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bake.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(const char *label, bool png, size_t cred_len, long n)
{
    char *cred = malloc(cred_len + 1);
    /* {"aaa...":1} */
    memset(cred, 'a', cred_len);
    memcpy(cred, "{\"", 2);
    memcpy(cred + cred_len - 4, "\":1}", 4);
    cred[cred_len] = '\0';
    buf_t img, out;
    buf_init(&img, BAKE_MAX_IMAGE);
    buf_init(&out, BAKE_MAX_IMAGE);
    if ((png ? bake_default_png(1, &img, NULL) : bake_default_svg(1, "Bench", &img, NULL)) != 0)
        abort();
    double t0 = now_s();
    for (long i = 0; i < n; i++) {
        buf_reset(&out);
        if (bake_image(img.data, img.len, BAKE_OPEN_BADGE, cred, cred_len, &out, NULL) != 0)
            abort();
    }
    double t1 = now_s();
    for (long i = 0; i < n; i++) {
        bake_found_t f;
        if (bake_extract(out.data, out.len, &f, NULL) != 0 || f.len != cred_len ||
            memcmp(f.text, cred, cred_len) != 0)
            abort();
        bake_found_free(&f);
    }
    double t2 = now_s();
    double dn = (double)n;
    printf("%-4s credential %6zu B, image %6zu B: bake %8.0f/s (%6.1f MB/s), unbake %8.0f/s "
           "(%6.1f MB/s)\n",
           label, cred_len, out.len, dn / (t1 - t0), dn * (double)out.len / (t1 - t0) / 1e6,
           dn / (t2 - t1), dn * (double)out.len / (t2 - t1) / 1e6);
    buf_free(&img);
    buf_free(&out);
    free(cred);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 20000;
    if (n <= 0)
        n = 20000;
    double t0 = now_s();
    buf_t b;
    buf_init(&b, BAKE_MAX_IMAGE);
    for (int i = 0; i < 100; i++) {
        buf_reset(&b);
        if (bake_default_png((uint32_t)i, &b, NULL) != 0)
            abort();
    }
    printf("default PNG medal: %zu B, drawn and compressed in %.2f ms\n", b.len,
           (now_s() - t0) * 10.0);
    buf_free(&b);
    run("PNG", true, 3000, n);
    run("SVG", false, 3000, n);
    run("PNG", true, 65536, n / 10);
    run("SVG", false, 65536, n / 10);
    return 0;
}
