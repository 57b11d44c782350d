#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *err_str(int code)
{
    switch (code) {
    case ERR_OK:
        return "OK";
    case ERR_INVALID:
        return "INVALID";
    case ERR_NOT_FOUND:
        return "NOT_FOUND";
    case ERR_CONFLICT:
        return "CONFLICT";
    case ERR_DUPLICATE:
        return "DUPLICATE";
    case ERR_UNAUTHENTICATED:
        return "UNAUTHENTICATED";
    case ERR_FORBIDDEN:
        return "FORBIDDEN";
    case ERR_UNAVAILABLE:
        return "UNAVAILABLE";
    case ERR_DATA_LOSS:
        return "DATA_LOSS";
    case ERR_GONE:
        return "GONE";
    case ERR_INTERNAL:
        return "INTERNAL";
    case ERR_NOMEM:
        return "NOMEM";
    case ERR_LIMIT:
        return "LIMIT";
    case ERR_RETRY:
        return "RETRY";
    default:
        return "UNKNOWN";
    }
}

int err_set(err_detail_t *d, int code, const char *field, const char *fmt, ...)
{
    if (d == NULL)
        return code;
    d->code = code;
    snprintf(d->field, sizeof d->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof d->message, fmt, ap);
    va_end(ap);
    return code;
}

void err_clear(err_detail_t *d)
{
    if (d == NULL)
        return;
    d->code = ERR_OK;
    d->field[0] = '\0';
    d->message[0] = '\0';
}
