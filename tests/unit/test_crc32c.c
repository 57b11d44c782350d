/* crc32c: the published check values, and the hardware and table paths agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crc32c.h"

uint32_t crc32c_sw_for_test(uint32_t crc, const void *p, size_t n);

static void test_check_values(void **state)
{
    (void)state;
    /* RFC 3720 (iSCSI) B.4 and the CRC catalogue's check value for "123456789". */
    assert_int_equal(crc32c("123456789", 9), 0xe3069283u);
    uint8_t zeros[32] = {0}, ones[32], inc[32], dec[32];
    memset(ones, 0xff, sizeof ones);
    for (int i = 0; i < 32; i++) {
        inc[i] = (uint8_t)i;
        dec[i] = (uint8_t)(31 - i);
    }
    assert_int_equal(crc32c(zeros, 32), 0x8a9136aau);
    assert_int_equal(crc32c(ones, 32), 0x62a8ab43u);
    assert_int_equal(crc32c(inc, 32), 0x46dd794eu);
    assert_int_equal(crc32c(dec, 32), 0x113fdb5cu);
    assert_int_equal(crc32c("", 0), 0u);
}

static void test_paths_agree_and_extend(void **state)
{
    (void)state;
    uint8_t buf[1031];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t n = 0; n <= sizeof buf; n += 1 + n / 3) {
        for (size_t off = 0; off < 8 && off <= n; off++) {
            uint32_t whole = crc32c(buf + off, n - off);
            assert_int_equal(whole, crc32c_sw_for_test(0, buf + off, n - off));
            size_t cut = (n - off) / 2;
            assert_int_equal(whole,
                             crc32c_extend(crc32c(buf + off, cut), buf + off + cut, n - off - cut));
        }
    }
    /* One flipped bit anywhere changes the value. */
    uint32_t good = crc32c(buf, sizeof buf);
    for (size_t bit = 0; bit < sizeof buf * 8; bit += 97) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_true(crc32c(buf, sizeof buf) != good);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_values),
        cmocka_unit_test(test_paths_agree_and_extend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
