/*
 * wire: the protocol envelope. Decodes a Request from untrusted bytes and encodes a Reply or
 * an Event, translating err.h codes to wire status codes.
 *
 * Decoding is strict, before protobuf-c ever allocates: the raw bytes are walked with the
 * message descriptors and refused (ERR_INVALID, the field path named) when they carry a field
 * the daemon does not know, a string that is not valid UTF-8 or contains NUL (protobuf-c
 * would silently truncate it at the NUL), a wire type that does not match the field, nested
 * messages deeper than WIRE_MAX_DEPTH, or truncated data. Unpacking then runs under an
 * allocation budget (a custom ProtobufCAllocator), so a small frame cannot make the daemon
 * allocate without bound.
 *
 * The handler uses the generated types (mastery.pb-c.h) directly; no other module does.
 */
#ifndef MASTERY_WIRE_H
#define MASTERY_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mastery/v1/mastery.pb-c.h"

#define WIRE_MAX_DEPTH 8

typedef Mastery__V1__Request wire_request_t;
typedef Mastery__V1__Reply wire_reply_t;
typedef Mastery__V1__Event wire_event_t;

/*
 * Checks len bytes against desc as described above, without allocating. Returns 0 or
 * ERR_INVALID with detail->field the path ("submit_evidence.items[2].learner_id").
 */
int wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
               err_detail_t *detail);

/*
 * Decodes a Request. budget bounds the bytes protobuf-c may allocate. On success *out is a new
 * message: caller owns it, free with wire_request_free(). Returns 0, ERR_INVALID (with the
 * field), or ERR_NOMEM (budget exceeded, reported as INVALID on the wire by the caller).
 */
int wire_request_decode(const uint8_t *data, size_t len, size_t budget, wire_request_t **out,
                        err_detail_t *detail);

/* Frees a decoded request and sets *req to NULL; NULL is a no-op. */
void wire_request_free(wire_request_t **req);

/* Maps an err.h code to the wire status code (OK for 0). */
Mastery__V1__StatusCode wire_status_code(int err);

/* Maps a wire status code back to err.h (used by clients). */
int wire_err_code(Mastery__V1__StatusCode code);

/* The wire name of a status ("INVALID"); never NULL. */
const char *wire_status_name(Mastery__V1__StatusCode code);

/*
 * Packs any message into a new buffer. Caller owns *out (free()). Returns 0 or ERR_NOMEM.
 */
int wire_pack(const ProtobufCMessage *msg, uint8_t **out, size_t *len);

#endif
