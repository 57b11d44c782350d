#include "text.h"

int32_t tlog_utf8_next(const char *s, size_t len, size_t *pos)
{
    const unsigned char *p = (const unsigned char *)s + *pos;
    size_t left = len - *pos;
    if (left == 0)
        return -1;
    uint32_t c = p[0];
    size_t n;
    uint32_t min;
    if (c < 0x80) {
        *pos += 1;
        return (int32_t)c;
    } else if ((c & 0xe0) == 0xc0) {
        n = 2, min = 0x80, c &= 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, min = 0x800, c &= 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, min = 0x10000, c &= 0x07;
    } else {
        return -1;
    }
    if (left < n)
        return -1;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return -1;
        c = c << 6 | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return -1;
    *pos += n;
    return (int32_t)c;
}

bool tlog_utf8_valid(const char *s, size_t len)
{
    size_t pos = 0;
    while (pos < len)
        if (tlog_utf8_next(s, len, &pos) < 0)
            return false;
    return true;
}

bool tlog_is_space(int32_t c)
{
    switch (c) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xa0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202f:
    case 0x205f:
    case 0x3000:
        return true;
    default:
        return c >= 0x2000 && c <= 0x200a;
    }
}
