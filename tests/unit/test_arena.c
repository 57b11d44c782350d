/*
 * Unit tests for arena: 16-byte alignment, zeroed memory, allocations larger than the chunk
 * size, reuse of the kept chunk after a reset, strdup/strndup, and refusal of sizes that
 * would overflow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

static void test_alignment_and_zeroing(void **state)
{
    (void)state;
    arena_t *a = arena_new(4096);
    assert_non_null(a);
    static const size_t sizes[] = {1, 3, 16, 17, 31, 0, 100, 7, 4000, 1, 5000, 2};
    unsigned char *prev = NULL;
    size_t prev_size = 0;
    for (int round = 0; round < 50; round++) {
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            unsigned char *p = arena_alloc(a, sizes[i]);
            assert_non_null(p);
            assert_int_equal((uintptr_t)p % 16, 0);
            for (size_t k = 0; k < sizes[i]; k++)
                assert_int_equal(p[k], 0);
            /* Allocations never overlap the previous one. */
            if (prev != NULL && p > prev)
                assert_true(p >= prev + prev_size);
            memset(p, 0xff, sizes[i]); /* dirty it: the next reset must not hand it back dirty */
            prev = p;
            prev_size = sizes[i];
        }
        arena_reset(a);
    }
    arena_destroy(&a);
    assert_null(a);
    arena_destroy(&a); /* idempotent */
    arena_destroy(NULL);
}

static void test_large_allocations(void **state)
{
    (void)state;
    arena_t *a = arena_new(1024);
    assert_non_null(a);
    unsigned char *small = arena_alloc(a, 10);
    assert_non_null(small);
    memset(small, 0x11, 10);
    size_t big = 1u << 20; /* 1024 times the chunk size */
    unsigned char *p = arena_alloc(a, big);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 16, 0);
    for (size_t k = 0; k < big; k++)
        assert_int_equal(p[k], 0);
    memset(p, 0x22, big); /* the whole range is usable (ASan checks) */
    unsigned char *after = arena_alloc(a, 10);
    assert_non_null(after);
    memset(after, 0x33, 10);
    /* Earlier allocations are undisturbed. */
    for (size_t k = 0; k < 10; k++)
        assert_int_equal(small[k], 0x11);
    assert_int_equal(p[big - 1], 0x22);
    arena_reset(a);
    p = arena_alloc(a, 3 * big);
    assert_non_null(p);
    memset(p, 0x44, 3 * big);
    arena_destroy(&a);
}

static void test_reset_reuse(void **state)
{
    (void)state;
    arena_t *a = arena_new(8192);
    assert_non_null(a);
    unsigned char *first = arena_alloc(a, 64);
    assert_non_null(first);
    memset(first, 0x5a, 64);
    /* Spill into several more chunks. */
    for (int i = 0; i < 20; i++)
        assert_non_null(arena_alloc(a, 3000));
    arena_reset(a);
    /* The kept chunk is the first one: the first allocation after a reset is at the same
     * address, and zeroed again. */
    unsigned char *again = arena_alloc(a, 64);
    assert_ptr_equal(again, first);
    for (size_t k = 0; k < 64; k++)
        assert_int_equal(again[k], 0);
    /* Many reset cycles keep working (ASan/LSan see any leak or reuse of a freed chunk). */
    for (int cycle = 0; cycle < 100; cycle++) {
        for (int i = 0; i < 10; i++) {
            unsigned char *p = arena_alloc(a, 2000);
            assert_non_null(p);
            memset(p, cycle, 2000);
        }
        arena_reset(a);
    }
    arena_destroy(&a);
}

static void test_strdup(void **state)
{
    (void)state;
    arena_t *a = arena_new(0); /* a tiny chunk size is raised to a minimum */
    assert_non_null(a);
    char *s = arena_strdup(a, "hello, arena");
    assert_non_null(s);
    assert_string_equal(s, "hello, arena");
    char *e = arena_strdup(a, "");
    assert_non_null(e);
    assert_string_equal(e, "");
    const char src[] = {'a', 'b', 'c', 'd', 'e'}; /* not NUL-terminated */
    char *n = arena_strndup(a, src, 3);
    assert_non_null(n);
    assert_string_equal(n, "abc");
    assert_ptr_not_equal(s, e);
    assert_string_equal(s, "hello, arena"); /* still intact */
    char big[5000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *b = arena_strdup(a, big);
    assert_non_null(b);
    assert_string_equal(b, big);
    assert_int_equal((uintptr_t)b % 16, 0);
    arena_destroy(&a);
}

static void test_overflow_refused(void **state)
{
    (void)state;
    arena_t *a = arena_new(1024);
    assert_non_null(a);
    /* Sizes whose rounding or chunk header would wrap around must fail, not return a tiny
     * block. */
    assert_null(arena_alloc(a, SIZE_MAX));
    assert_null(arena_alloc(a, SIZE_MAX - 15));
    assert_null(arena_alloc(a, SIZE_MAX - 40));
    /* The arena still works afterwards. */
    char *s = arena_strdup(a, "still fine");
    assert_non_null(s);
    assert_string_equal(s, "still fine");
    arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_zeroing), cmocka_unit_test(test_large_allocations),
        cmocka_unit_test(test_reset_reuse),           cmocka_unit_test(test_strdup),
        cmocka_unit_test(test_overflow_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
