/* learnvault — one status enum for the whole public API.
 *
 * Every fallible public function returns enum lv_status.  LV_OK is 0; the
 * numbers are part of the ABI and are never reused.  lv_status_str() gives a
 * short, stable, lower-case code suitable for the "error" field of an HTTP
 * JSON error body.
 */
#ifndef LEARNVAULT_STATUS_H
#define LEARNVAULT_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

#define LV_WARN_UNUSED __attribute__((warn_unused_result))
#define LV_EXPORT __attribute__((visibility("default")))

enum lv_status {
	LV_OK = 0,
	LV_ERR_NOMEM = 1,        /* allocation failed */
	LV_ERR_INVALID = 2,      /* input violates a rule (schema, syntax) */
	LV_ERR_NOT_FOUND = 3,    /* no such object */
	LV_ERR_CONFLICT = 4,     /* an object with that id exists with other content */
	LV_ERR_EXISTS = 5,       /* refusing to overwrite (e.g. init on a node) */
	LV_ERR_FORBIDDEN = 6,    /* authenticated but not allowed */
	LV_ERR_UNAUTHORIZED = 7, /* no or bad credentials */
	LV_ERR_TOO_LARGE = 8,    /* input over a configured cap */
	LV_ERR_CRYPTO = 9,       /* decryption/authentication failure, bad key */
	LV_ERR_IO = 10,          /* file system error */
	LV_ERR_DB = 11,          /* storage engine error */
	LV_ERR_PRECONDITION = 12,/* If-Match / If-None-Match failed */
	LV_ERR_INTERNAL = 13,    /* invariant broken; a bug */
	LV_ERR_UNSUPPORTED = 14, /* valid request for something not offered */
	LV_ERR_BUSY = 15,        /* resource temporarily unavailable */
	LV_ERR_BUDGET = 16,      /* privacy budget for the window is spent */
	LV_ERR_IN_USE = 17,      /* the data directory is held by another process */
};

/* The one size of every error-message buffer the API fills. */
#define LV_ERR_LEN 256

/* Returns a static string naming @st ("ok", "invalid", ...). Never NULL. */
LV_EXPORT const char *lv_status_str(enum lv_status st);

/* Returns the HTTP status code conventionally used for @st. */
LV_EXPORT unsigned lv_status_http(enum lv_status st);

#ifdef __cplusplus
}
#endif
#endif
