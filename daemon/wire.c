#include "wire.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- raw walk ------------------------------------------------------------------------------ */

typedef struct wire_cursor {
    const uint8_t *p, *end;
} wire_cursor_t;

static bool wire_varint(wire_cursor_t *c, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (c->p >= c->end)
            return false;
        uint8_t b = *c->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* Valid UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF) and no NUL. */
static bool wire_utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) {
            need = 1;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            need = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1;
    }
    return true;
}

/* Appends ".name" or "name[i]" to a path buffer; returns the previous length to restore. */
static size_t path_push(char *path, size_t cap, const char *name, int index)
{
    size_t old = strlen(path);
    if (index >= 0)
        snprintf(path + old, cap - old, "%s%s[%d]", old ? "." : "", name, index);
    else
        snprintf(path + old, cap - old, "%s%s", old ? "." : "", name);
    return old;
}

/* Refuses field f (occurrence index, or -1) with its full path ("items[1].score"). */
static int wire_field_err(char *path, size_t cap, const ProtobufCFieldDescriptor *f, int index,
                          err_detail_t *d, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int wire_field_err(char *path, size_t cap, const ProtobufCFieldDescriptor *f, int index,
                          err_detail_t *d, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    path_push(path, cap, f->name, index);
    return err_set(d, ERR_INVALID, path, "%s", msg);
}

static int wire_walk(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                     int depth, char *path, size_t cap, err_detail_t *d)
{
    wire_cursor_t c = {data, data + len};
    /* Occurrence counters for repeated fields, so errors name items[i]. */
    int seen[64] = {0};
    if (depth > WIRE_MAX_DEPTH)
        return err_set(d, ERR_INVALID, path, "messages nested deeper than %d", WIRE_MAX_DEPTH);
    while (c.p < c.end) {
        uint64_t tag;
        if (!wire_varint(&c, &tag))
            return err_set(d, ERR_INVALID, path[0] ? path : "request", "truncated field tag");
        uint32_t number = (uint32_t)(tag >> 3);
        unsigned wt = (unsigned)(tag & 7);
        const ProtobufCFieldDescriptor *f =
            (tag >> 3) > UINT32_MAX ? NULL : protobuf_c_message_descriptor_get_field(desc, number);
        if (f == NULL)
            return err_set(d, ERR_INVALID, path[0] ? path : "unknown_fields",
                           "unknown field number %u in %s (a newer client? this daemon speaks "
                           "mastery.v1 as it knows it)",
                           number, desc->name);
        int index = -1;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t slot = (size_t)(f - desc->fields);
            index = slot < 64 ? seen[slot]++ : 0;
        }
        uint64_t v;
        switch (wt) {
        case 0:
            if (!wire_varint(&c, &v))
                return wire_field_err(path, cap, f, index, d, "truncated varint");
            if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE ||
                f->type == PROTOBUF_C_TYPE_BYTES || f->type == PROTOBUF_C_TYPE_DOUBLE)
                goto badtype;
            break;
        case 1:
            if (c.end - c.p < 8)
                return wire_field_err(path, cap, f, index, d, "truncated 64-bit field");
            if (f->type != PROTOBUF_C_TYPE_DOUBLE && f->type != PROTOBUF_C_TYPE_FIXED64 &&
                f->type != PROTOBUF_C_TYPE_SFIXED64)
                goto badtype;
            c.p += 8;
            break;
        case 5:
            if (c.end - c.p < 4)
                return wire_field_err(path, cap, f, index, d, "truncated 32-bit field");
            if (f->type != PROTOBUF_C_TYPE_FLOAT && f->type != PROTOBUF_C_TYPE_FIXED32 &&
                f->type != PROTOBUF_C_TYPE_SFIXED32)
                goto badtype;
            c.p += 4;
            break;
        case 2: {
            if (!wire_varint(&c, &v) || v > (uint64_t)(c.end - c.p))
                return wire_field_err(path, cap, f, index, d,
                                      "length runs past the end of the frame");
            const uint8_t *body = c.p;
            c.p += v;
            size_t old = path_push(path, cap, f->name, index);
            int rc = 0;
            if (f->type == PROTOBUF_C_TYPE_STRING) {
                if (!wire_utf8_ok(body, (size_t)v))
                    rc = err_set(d, ERR_INVALID, path, "not valid UTF-8, or contains NUL");
            } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                rc = wire_walk(f->descriptor, body, (size_t)v, depth + 1, path, cap, d);
            } else if (f->type != PROTOBUF_C_TYPE_BYTES && f->label != PROTOBUF_C_LABEL_REPEATED) {
                rc = err_set(d, ERR_INVALID, path, "length-delimited data for a scalar field");
            }
            path[old] = '\0';
            if (rc != 0)
                return rc;
            break;
        }
        default:
            return wire_field_err(path, cap, f, index, d, "unsupported wire type %u", wt);
        }
        continue;
    badtype:
        return wire_field_err(path, cap, f, index, d,
                              "wire type %u does not match the field's type", wt);
    }
    return 0;
}

int wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
               err_detail_t *d)
{
    char path[256] = "";
    return wire_walk(desc, data, len, 0, path, sizeof path, d);
}

/* ---- budgeted unpack ----------------------------------------------------------------------- */

typedef struct wire_budget {
    size_t used, limit;
    bool exceeded; /* an allocation was refused */
} wire_budget_t;

static void *wire_budget_alloc(void *opaque, size_t size)
{
    wire_budget_t *b = opaque;
    if (size > b->limit - b->used) {
        b->exceeded = true;
        return NULL;
    }
    b->used += size;
    return malloc(size);
}

static void wire_budget_free(void *opaque, void *p)
{
    (void)opaque;
    free(p);
}

int wire_request_decode(const uint8_t *data, size_t len, size_t budget, wire_request_t **out,
                        err_detail_t *d)
{
    if (len == 0)
        return err_set(d, ERR_INVALID, "request", "empty request: no operation");
    int rc = wire_check(&mastery__v1__request__descriptor, data, len, d);
    if (rc != 0)
        return rc;
    wire_budget_t b = {0, budget, false};
    ProtobufCAllocator alloc = {wire_budget_alloc, wire_budget_free, &b};
    wire_request_t *req = mastery__v1__request__unpack(&alloc, len, data);
    if (req == NULL)
        return err_set(d, b.exceeded ? ERR_NOMEM : ERR_INVALID, "request",
                       b.exceeded ? "request needs more memory than its budget"
                                  : "not a valid mastery.v1.Request");
    if (req->op_case == MASTERY__V1__REQUEST__OP__NOT_SET) {
        mastery__v1__request__free_unpacked(req, NULL);
        return err_set(d, ERR_INVALID, "op", "request carries no known operation");
    }
    *out = req;
    return 0;
}

void wire_request_free(wire_request_t **req)
{
    if (req == NULL || *req == NULL)
        return;
    /* The budget allocator frees with free(): the default allocator does the same. */
    mastery__v1__request__free_unpacked(*req, NULL);
    *req = NULL;
}

Mastery__V1__StatusCode wire_status_code(int err)
{
    switch (err) {
    case 0:
        return MASTERY__V1__STATUS_CODE__STATUS_OK;
    case ERR_INVALID:
    case ERR_LIMIT:
    case ERR_NOMEM:
        return MASTERY__V1__STATUS_CODE__STATUS_INVALID;
    case ERR_NOT_FOUND:
        return MASTERY__V1__STATUS_CODE__STATUS_NOT_FOUND;
    case ERR_CONFLICT:
        return MASTERY__V1__STATUS_CODE__STATUS_CONFLICT;
    case ERR_DUPLICATE:
        return MASTERY__V1__STATUS_CODE__STATUS_DUPLICATE;
    case ERR_UNAUTHENTICATED:
        return MASTERY__V1__STATUS_CODE__STATUS_UNAUTHENTICATED;
    case ERR_FORBIDDEN:
        return MASTERY__V1__STATUS_CODE__STATUS_FORBIDDEN;
    case ERR_UNAVAILABLE:
    case ERR_RETRY:
        return MASTERY__V1__STATUS_CODE__STATUS_UNAVAILABLE;
    case ERR_DATA_LOSS:
        return MASTERY__V1__STATUS_CODE__STATUS_DATA_LOSS;
    case ERR_GONE:
        return MASTERY__V1__STATUS_CODE__STATUS_GONE;
    default:
        return MASTERY__V1__STATUS_CODE__STATUS_INTERNAL;
    }
}

int wire_err_code(Mastery__V1__StatusCode code)
{
    switch (code) {
    case MASTERY__V1__STATUS_CODE__STATUS_OK:
        return 0;
    case MASTERY__V1__STATUS_CODE__STATUS_INVALID:
        return ERR_INVALID;
    case MASTERY__V1__STATUS_CODE__STATUS_NOT_FOUND:
        return ERR_NOT_FOUND;
    case MASTERY__V1__STATUS_CODE__STATUS_CONFLICT:
        return ERR_CONFLICT;
    case MASTERY__V1__STATUS_CODE__STATUS_DUPLICATE:
        return ERR_DUPLICATE;
    case MASTERY__V1__STATUS_CODE__STATUS_UNAUTHENTICATED:
        return ERR_UNAUTHENTICATED;
    case MASTERY__V1__STATUS_CODE__STATUS_FORBIDDEN:
        return ERR_FORBIDDEN;
    case MASTERY__V1__STATUS_CODE__STATUS_UNAVAILABLE:
        return ERR_UNAVAILABLE;
    case MASTERY__V1__STATUS_CODE__STATUS_DATA_LOSS:
        return ERR_DATA_LOSS;
    case MASTERY__V1__STATUS_CODE__STATUS_GONE:
        return ERR_GONE;
    default:
        return ERR_INTERNAL;
    }
}

const char *wire_status_name(Mastery__V1__StatusCode code)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&mastery__v1__status_code__descriptor, (int)code);
    if (v == NULL)
        return "UNKNOWN";
    /* "STATUS_INVALID" -> "INVALID" */
    return strncmp(v->name, "STATUS_", 7) == 0 ? v->name + 7 : v->name;
}

int wire_pack(const ProtobufCMessage *msg, uint8_t **out, size_t *len)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(n ? n : 1);
    if (buf == NULL)
        return ERR_NOMEM;
    *len = protobuf_c_message_pack(msg, buf);
    *out = buf;
    return 0;
}
