/*
 * Unit tests for arena: 16-byte alignment, zeroed memory, allocations larger than the chunk
 * size, reuse of the kept chunk after a reset, strdup/strndup, refusal of sizes that would
 * overflow, the byte cap (arena_new_limit, arena_error, arena_size), and packed and
 * uninitialised allocations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "err.h"

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

static void test_limit(void **state)
{
    (void)state;
    arena_t *a = arena_new_limit(4096, 3 * 4096);
    assert_non_null(a);
    assert_int_equal(arena_size(a), 4096);
    assert_int_equal(arena_error(a), 0);
    /* Three chunks' worth fits, the fourth chunk is refused with ERR_LIMIT. */
    size_t got = 0;
    while (arena_alloc(a, 1000) != NULL)
        got += 1000;
    assert_int_equal(arena_error(a), ERR_LIMIT);
    assert_true(got >= 2 * 4096 && got <= 3 * 4096);
    assert_true(arena_size(a) <= 3 * 4096);
    /* An outsized block counts in full. */
    assert_null(arena_alloc_packed(a, 3 * 4096 + 1));
    assert_int_equal(arena_error(a), ERR_LIMIT);
    /* A reset gives everything back and clears the error. */
    arena_reset(a);
    assert_int_equal(arena_error(a), 0);
    assert_int_equal(arena_size(a), 4096);
    unsigned char *p = arena_alloc_packed(a, 2 * 4096);
    assert_non_null(p);
    memset(p, 1, 2 * 4096);
    assert_int_equal(arena_size(a), 3 * 4096);
    assert_null(arena_alloc(a, 4096 + 1));
    assert_int_equal(arena_error(a), ERR_LIMIT);
    /* The head still has room: small allocations go on. */
    assert_non_null(arena_alloc(a, 100));
    arena_destroy(&a);
    /* A cap below the chunk size is raised to it; so is the chunk size to 1024. */
    a = arena_new_limit(10, 1);
    assert_non_null(a);
    assert_int_equal(arena_size(a), 1024);
    assert_non_null(arena_alloc(a, 1000));
    assert_null(arena_alloc(a, 1000));
    assert_int_equal(arena_error(a), ERR_LIMIT);
    arena_destroy(&a);
    /* Unrepresentable sizes are ERR_NOMEM, not ERR_LIMIT. */
    a = arena_new_limit(1024, 1u << 20);
    assert_null(arena_alloc(a, SIZE_MAX));
    assert_int_equal(arena_error(a), ERR_NOMEM);
    assert_null(arena_alloc_packed(a, SIZE_MAX - 8));
    assert_int_equal(arena_error(a), ERR_NOMEM);
    assert_null(arena_strndup(a, "x", SIZE_MAX));
    arena_destroy(&a);
}

static void test_packed_and_uninit(void **state)
{
    (void)state;
    arena_t *a = arena_new(1024);
    assert_non_null(a);
    /* Packed allocations follow each other without padding. */
    char *x = arena_alloc_packed(a, 3);
    char *y = arena_alloc_packed(a, 5);
    assert_non_null(x);
    assert_ptr_equal(y, x + 3);
    memcpy(x, "abc", 3);
    memcpy(y, "defgh", 5);
    /* An aligned allocation after them is aligned again and does not overlap them. */
    unsigned char *z = arena_alloc(a, 20);
    assert_int_equal((uintptr_t)z % 16, 0);
    assert_true(z >= (unsigned char *)y + 5);
    for (size_t k = 0; k < 20; k++)
        assert_int_equal(z[k], 0);
    unsigned char *u = arena_alloc_uninit(a, 33);
    assert_non_null(u);
    assert_int_equal((uintptr_t)u % 16, 0);
    assert_true(u >= z + 20);
    memset(u, 0x77, 33);
    assert_memory_equal(x, "abcdefgh", 8);
    /* A packed block larger than a chunk gets its own; the head keeps serving small ones. */
    char *w = arena_alloc_packed(a, 5000);
    assert_non_null(w);
    memset(w, 'w', 5000);
    char *v = arena_alloc_packed(a, 4);
    assert_ptr_equal(v, (char *)u + 48);
    assert_int_equal(arena_size(a), 1024 + 5000);
    arena_reset(a);
    assert_int_equal(arena_size(a), 1024);
    assert_ptr_equal(arena_alloc_packed(a, 1), x);
    arena_destroy(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alignment_and_zeroing), cmocka_unit_test(test_large_allocations),
        cmocka_unit_test(test_reset_reuse),           cmocka_unit_test(test_strdup),
        cmocka_unit_test(test_overflow_refused),      cmocka_unit_test(test_limit),
        cmocka_unit_test(test_packed_and_uninit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
