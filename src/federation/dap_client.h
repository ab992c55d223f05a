/* The DAP-09 upload client (draft-ietf-ppm-dap-09 §4.4) on libcurl: fetch
 * and cache each aggregator's HPKE configuration, build the report from
 * already-sharded bytes (dap.h), PUT it to the Leader, map the answer.
 *
 * A client holds one curl easy handle, reused for every request (so
 * connections are kept alive across a batch), and is not thread-safe: one
 * client per uploading thread.  Nothing secret ever reaches an error
 * message or a log; the bearer token is kept in sodium_malloc memory. */
#ifndef LV_FEDERATION_DAP_CLIENT_H
#define LV_FEDERATION_DAP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dap.h"
#include "learnvault/status.h"

/* Zero fields take the default in brackets. */
struct fed_dap_client_options {
	long connect_timeout_ms;     /* [5000] */
	long total_timeout_ms;       /* [30000] per request */
	unsigned tries;              /* [3] attempts per request, transient failures retried */
	unsigned backoff_ms;         /* [100] first pause, doubling ... */
	unsigned backoff_max_ms;     /* [400] ... up to this */
	uint64_t default_max_age_s;  /* [3600] config lifetime without Cache-Control max-age */
	/* Sent on the upload to the Leader only, as "Authorization: Bearer"
	 * and Janus's "DAP-Auth-Token" (NULL: no client auth).  Copied. */
	const char *bearer_token;
};

/* What went wrong, when something did (the draft's error types first). */
enum fed_dap_error {
	FED_DAP_E_NONE = 0,
	FED_DAP_E_TRANSPORT,        /* connect error, timeout, reset: after the retries */
	FED_DAP_E_SERVER,           /* 5xx or 429: after the retries */
	FED_DAP_E_HTTP,             /* another non-2xx without a DAP problem document */
	FED_DAP_E_BAD_RESPONSE,     /* not a valid HpkeConfigList / wrong media type / too big */
	FED_DAP_E_NO_SUITE,         /* no advertised config is our HPKE suite */
	FED_DAP_E_INVALID_MESSAGE,  /* the draft's problem types: */
	FED_DAP_E_UNRECOGNIZED_TASK,
	FED_DAP_E_OUTDATED_CONFIG,  /* (after the one refetch-and-rebuild) */
	FED_DAP_E_REPORT_REJECTED,
	FED_DAP_E_REPORT_TOO_EARLY,
	FED_DAP_E_UNAUTHORIZED,
	FED_DAP_E_MISSING_TASK_ID,
	FED_DAP_E_OTHER_PROBLEM,    /* a DAP-prefixed type this client does not know */
};

#define FED_DAP_TYPE_LEN 128

/* The outcome of one client call, for progress output and messages. */
struct fed_dap_result {
	enum fed_dap_error error;
	long http_status;                 /* last HTTP status seen (0: none) */
	unsigned requests;                /* HTTP requests made */
	unsigned retries;                 /* of which retries of transient failures */
	bool config_refetched;            /* an outdatedConfig made us refetch */
	char type[FED_DAP_TYPE_LEN];      /* the problem "type" as received (printable ASCII), or "" */
	char message[LV_ERR_LEN];         /* one line for a human; never secret */
};

/* Returns a short stable name for @e ("outdatedConfig", "transport", ...). */
const char *fed_dap_error_str(enum fed_dap_error e);

struct fed_dap_client;

/* Creates a client (@opt NULL: every default).  LV_ERR_INVALID for a
 * token with characters a header cannot carry.  On success *@out is the
 * caller's: release with fed_dap_client_destroy; on failure NULL. */
enum lv_status fed_dap_client_create(const struct fed_dap_client_options *opt,
				     struct fed_dap_client **out) LV_WARN_UNUSED;
void fed_dap_client_destroy(struct fed_dap_client *c);

/* The HPKE configuration learnvault will seal to at @endpoint (http or
 * https URL, a trailing slash tolerated) for @task_id: from the cache if
 * fresh, else GET {endpoint}/hpke_config?task_id=... (body capped at 64
 * KiB, cached for Cache-Control max-age or the default).  @config_id and
 * @pk are zeroed on failure.  @res (may be NULL) says what happened. */
enum lv_status fed_dap_client_hpke_config(struct fed_dap_client *c, const char *endpoint,
					  const uint8_t task_id[FED_DAP_TASK_ID_LEN], uint8_t *config_id,
					  uint8_t pk[FED_HPKE_NPK], struct fed_dap_result *res) LV_WARN_UNUSED;
/* Drops every cached configuration. */
void fed_dap_client_forget_configs(struct fed_dap_client *c);

/* One report to upload: endpoints, task, metadata (time rounded by the
 * caller, fed_dap_time_round) and the VDAF's outputs.  All borrowed. */
struct fed_dap_upload {
	const char *leader;
	const char *helper;
	const uint8_t *task_id;   /* FED_DAP_TASK_ID_LEN */
	const uint8_t *report_id; /* FED_DAP_REPORT_ID_LEN, the nonce the shares were made with */
	uint64_t time;
	const uint8_t *public_share;
	size_t public_share_len;
	const uint8_t *leader_share;
	size_t leader_share_len;
	const uint8_t *helper_share;
	size_t helper_share_len;
};

/* Fetches (or reuses) both configurations, builds the report and PUTs it
 * to {leader}/tasks/{task id}/reports.  On outdatedConfig it forgets the
 * two configurations, fetches them again and rebuilds the report once
 * (same report id and shares, new encryption: the Leader did not accept
 * the first).  Returns LV_OK on 2xx; otherwise LV_ERR_IO (transport),
 * LV_ERR_BUSY (5xx/429 after the retries), LV_ERR_NOT_FOUND
 * (unrecognizedTask), LV_ERR_UNAUTHORIZED (unauthorizedRequest, 401,
 * 403), LV_ERR_PRECONDITION (reportTooEarly), LV_ERR_UNSUPPORTED (no
 * config of our suite), LV_ERR_INVALID (everything else), with @res
 * (may be NULL) saying which. */
enum lv_status fed_dap_client_upload(struct fed_dap_client *c, const struct fed_dap_upload *u,
				     struct fed_dap_result *res) LV_WARN_UNUSED;

#endif
