#include "learnvault/status.h"

const char *lv_status_str(enum lv_status st)
{
	switch (st) {
	case LV_OK: return "ok";
	case LV_ERR_NOMEM: return "out_of_memory";
	case LV_ERR_INVALID: return "invalid";
	case LV_ERR_NOT_FOUND: return "not_found";
	case LV_ERR_CONFLICT: return "conflict";
	case LV_ERR_EXISTS: return "exists";
	case LV_ERR_FORBIDDEN: return "forbidden";
	case LV_ERR_UNAUTHORIZED: return "unauthorized";
	case LV_ERR_TOO_LARGE: return "too_large";
	case LV_ERR_CRYPTO: return "crypto";
	case LV_ERR_IO: return "io";
	case LV_ERR_DB: return "storage";
	case LV_ERR_PRECONDITION: return "precondition_failed";
	case LV_ERR_INTERNAL: return "internal";
	case LV_ERR_UNSUPPORTED: return "unsupported";
	case LV_ERR_BUSY: return "busy";
	case LV_ERR_BUDGET: return "budget_exhausted";
	case LV_ERR_IN_USE: return "in_use";
	}
	return "unknown";
}

unsigned lv_status_http(enum lv_status st)
{
	switch (st) {
	case LV_OK: return 200;
	case LV_ERR_INVALID: return 400;
	case LV_ERR_UNAUTHORIZED: return 401;
	case LV_ERR_FORBIDDEN: return 403;
	case LV_ERR_NOT_FOUND: return 404;
	case LV_ERR_CONFLICT: return 409;
	case LV_ERR_EXISTS: return 409;
	case LV_ERR_PRECONDITION: return 412;
	case LV_ERR_TOO_LARGE: return 413;
	case LV_ERR_UNSUPPORTED: return 501;
	case LV_ERR_BUSY: return 503;
	case LV_ERR_BUDGET: return 429;
	case LV_ERR_IN_USE: return 503;
	case LV_ERR_NOMEM:
	case LV_ERR_CRYPTO:
	case LV_ERR_IO:
	case LV_ERR_DB:
	case LV_ERR_INTERNAL: return 500;
	}
	return 500;
}
