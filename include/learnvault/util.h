/* Internal helpers shared by every module: capped buffers, time, UUIDs.
 * Nothing here knows about learners. */
#ifndef LEARNVAULT_UTIL_H
#define LEARNVAULT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "learnvault/status.h"

/* A growing byte buffer with a hard cap fixed at init.  data is always
 * NUL-terminated (the terminator is not counted in len). */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; /* appends that would exceed max fail with LV_ERR_TOO_LARGE */
};

void buf_init(struct buf *b, size_t max);
enum lv_status buf_append(struct buf *b, const void *p, size_t n) LV_WARN_UNUSED;
enum lv_status buf_append_str(struct buf *b, const char *s) LV_WARN_UNUSED;
enum lv_status buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3))) LV_WARN_UNUSED;
/* Hands the data to the caller (free() it); the buffer is reset. */
char *buf_steal(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

/* A typed growable array: declare `UTIL_ARRAY(struct x) a = {0};`, make
 * room with util_array_reserve(&a, need, max), free a.v.  The cap @max
 * (elements) is the caller's: LV_ERR_TOO_LARGE beyond it. */
#define UTIL_ARRAY(type) struct { type *v; size_t n, cap; }
enum lv_status util_array_grow_slow(void **v, size_t elem_size, size_t *cap, size_t need, size_t max) LV_WARN_UNUSED;
/* Room for @need elements of @elem_size in *@v (capacity *@cap, in
 * elements), doubling; inline so the common case (room already there)
 * costs a compare on hot paths. */
static inline LV_WARN_UNUSED enum lv_status util_array_grow(void **v, size_t elem_size, size_t *cap, size_t need,
							     size_t max)
{
	return need <= *cap ? LV_OK : util_array_grow_slow(v, elem_size, cap, need, max);
}
#define util_array_reserve(a, need, max) \
	util_array_grow((void **)&(a)->v, sizeof *(a)->v, &(a)->cap, (need), (max))
/* Room for one more element (a->n + 1). */
#define util_array_room(a, max) util_array_reserve((a), (a)->n + 1, (max))

/* FNV-1a (64-bit) of a NUL-terminated string: hash tables and seeds,
 * never security. */
uint64_t util_fnv1a(const char *s);

/* qsort comparators. */
int util_cmp_i64(const void *a, const void *b);
int util_cmp_u32(const void *a, const void *b);

/* The string at @o[@a] (or @o[@a][@b] when @b is not NULL); NULL when
 * absent or not a string.  Borrowed from @o. */
const char *util_json_str(const cJSON *o, const char *a, const char *b);

#define UTIL_DAY_MS (86400LL * 1000)

/* Formats an error message into @err (LV_ERR_LEN bytes; NULL: ignored). */
void util_errf(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Milliseconds since the Unix epoch, UTC (CLOCK_REALTIME). */
int64_t util_now_ms(void);
/* Monotonic seconds, for measuring durations. */
double util_mono_s(void);

#define UTIL_TIME_LEN 64
/* Formats @ms as RFC 3339 UTC with milliseconds: 2026-11-23T19:18:13.123Z */
void util_time_format(int64_t ms, char out[UTIL_TIME_LEN]);
/* Parses an ISO 8601 / RFC 3339 timestamp as xAPI allows it (date, 'T',
 * time with optional fraction, offset Z or +hh:mm / -hh[:mm]).  Returns false
 * for anything else.  *ms is the instant, truncated to the millisecond. */
bool util_time_parse(const char *s, int64_t *ms) LV_WARN_UNUSED;

#define UTIL_UUID_LEN 37
/* A random (version 4) UUID in lower-case canonical form. */
void util_uuid_v4(char out[UTIL_UUID_LEN]);
/* True when @s is a canonical 8-4-4-4-12 hex UUID (any case, any version). */
bool util_uuid_valid(const char *s);
/* Lower-cases a valid UUID into @out. */
void util_uuid_lower(const char *s, char out[UTIL_UUID_LEN]);

/* True when @s is a learner pseudonym: exactly 32 lower-case hex digits. */
bool util_pseudonym_valid(const char *s);

/* Reads a whole file of at most @max bytes; the result is NUL-terminated and
 * must be free()d.  LV_ERR_TOO_LARGE when the file is bigger. */
enum lv_status util_read_file(const char *path, size_t max, char **data, size_t *len) LV_WARN_UNUSED;
/* Writes @len bytes to @path atomically (temp file + fsync + rename) with
 * mode @mode; fails with LV_ERR_EXISTS when @exclusive and the file exists. */
enum lv_status util_write_file(const char *path, const void *data, size_t len,
			       unsigned mode, bool exclusive) LV_WARN_UNUSED;

/* Parses exactly one JSON value filling @len bytes (trailing whitespace
 * allowed, anything else rejected).  NULL on error; caller cJSON_Deletes. */
cJSON *util_json_parse(const char *s, size_t len);
/* Whether @len bytes at @s are UTF-8 with no control character (C0, DEL),
 * NUL included: what an identifier from outside may hold. */
bool util_text_clean(const char *s, size_t len);

/* Web origins (CORS, issue 14).  An origin list is entries separated by
 * spaces or commas, each "http://host[:port]" or "https://host[:port]",
 * or "http[s]://host:*" for any port of that host; host is a DNS name,
 * an IPv4 address or a [bracketed] IPv6 address; no path, no "*" host.
 * The empty list is valid.  Pure functions. */
#define UTIL_ORIGIN_LIST_MAX 4096
bool util_origin_list_valid(const char *list);
/* Whether the Origin header @origin is allowed by the list @list (which
 * util_origin_list_valid accepted): scheme and host compare without
 * case, the port exactly (an absent port is the scheme's default). */
bool util_origin_allowed(const char *list, const char *origin);

#endif
