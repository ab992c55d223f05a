/* A small libcurl client for the tests that speak HTTP to a real server
 * (test-http.c, test-durability.c).  Header-only: every function is static
 * inline so a test file pays only for what it uses. */
#ifndef LV_TEST_HTTP_CLIENT_H
#define LV_TEST_HTTP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#define HC_MAX_BODY ((size_t)64 << 20)

/* One request.  Unset fields take defaults: GET (POST when @body is set),
 * the X-Experience-API-Version: 1.0.3 header, no credentials. */
struct hc_req {
	const char *method;
	const char *path;            /* "/xapi/statements?..." (already escaped) */
	const char *body;
	size_t body_len;             /* 0: strlen(body) */
	const char *user, *pass;     /* HTTP Basic */
	const char *bearer;          /* "Authorization: Bearer <bearer>" */
	bool no_version;             /* omit X-Experience-API-Version */
	const char *version;         /* its value; NULL: "1.0.3" */
	const char *content_type;    /* default application/json with a body */
	const char *if_match, *if_none_match;
	bool chunked;                /* send the body chunked (no Content-Length) */
};

/* A response.  @body is NUL-terminated and owned (hc_resp_free). */
struct hc_resp {
	CURLcode rc;                 /* CURLE_OK when a response arrived */
	long status;                 /* 0 when none arrived */
	char *body;
	size_t len;
	char etag[128];
	char version[32];            /* X-Experience-API-Version of the reply */
	char content_type[128];
	char www_authenticate[128];
	bool overflow;
};

struct hc {
	CURL *curl;
	uint16_t port;
};

struct hc_upload {
	const char *data;
	size_t len, off;
};

static inline size_t hc_write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct hc_resp *r = ud;
	size_t n = size * nmemb;
	if (r->len + n > HC_MAX_BODY) {
		r->overflow = true;
		return 0;
	}
	char *nb = realloc(r->body, r->len + n + 1);
	if (!nb)
		return 0;
	memcpy(nb + r->len, ptr, n);
	r->body = nb;
	r->len += n;
	r->body[r->len] = 0;
	return n;
}

/* Copies header @name's value into @out when @line is that header. */
static inline void hc_header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	const char *v = line + nl + 1;
	const char *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	size_t len = (size_t)(end - v);
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, v, len);
	out[len] = 0;
}

static inline size_t hc_header_cb(char *line, size_t size, size_t nmemb, void *ud)
{
	struct hc_resp *r = ud;
	size_t n = size * nmemb;
	hc_header_value(line, n, "ETag", r->etag, sizeof r->etag);
	hc_header_value(line, n, "X-Experience-API-Version", r->version, sizeof r->version);
	hc_header_value(line, n, "Content-Type", r->content_type, sizeof r->content_type);
	hc_header_value(line, n, "WWW-Authenticate", r->www_authenticate, sizeof r->www_authenticate);
	return n;
}

static inline size_t hc_read_cb(char *buf, size_t size, size_t nmemb, void *ud)
{
	struct hc_upload *u = ud;
	size_t n = size * nmemb;
	/* Small pieces, so the body really goes out in several chunks. */
	if (n > 1000)
		n = 1000;
	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(buf, u->data + u->off, n);
	u->off += n;
	return n;
}

/* curl_global_init must have been called. */
static inline void hc_init(struct hc *c, uint16_t port)
{
	c->curl = curl_easy_init();
	c->port = port;
}

static inline void hc_free(struct hc *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
}

static inline void hc_resp_free(struct hc_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

/* Performs @rq; fills *@out (cleared first; free with hc_resp_free).
 * Returns the HTTP status, 0 when no response arrived. */
static inline long hc_do(struct hc *c, const struct hc_req *rq, struct hc_resp *out)
{
	char url[8192 + 64], hdr[1024];
	struct curl_slist *h = NULL;
	struct hc_upload up = {0};
	CURL *cu = c->curl;
	memset(out, 0, sizeof *out);
	out->body = calloc(1, 1);
	curl_easy_reset(cu);
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", (unsigned)c->port, rq->path);
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, hc_write_cb);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, hc_header_cb);
	curl_easy_setopt(cu, CURLOPT_HEADERDATA, out);
	const char *method = rq->method ? rq->method : rq->body ? "POST" : "GET";
	if (rq->body) {
		size_t n = rq->body_len ? rq->body_len : strlen(rq->body);
		curl_easy_setopt(cu, CURLOPT_POST, 1L);
		if (rq->chunked) {
			up.data = rq->body;
			up.len = n;
			curl_easy_setopt(cu, CURLOPT_READFUNCTION, hc_read_cb);
			curl_easy_setopt(cu, CURLOPT_READDATA, &up);
			h = curl_slist_append(h, "Transfer-Encoding: chunked");
		} else {
			curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)n);
			curl_easy_setopt(cu, CURLOPT_POSTFIELDS, rq->body);
		}
		snprintf(hdr, sizeof hdr, "Content-Type: %s",
			 rq->content_type ? rq->content_type : "application/json");
		h = curl_slist_append(h, hdr);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		curl_easy_setopt(cu, CURLOPT_CUSTOMREQUEST, method);
	/* No "Expect: 100-continue" round trip. */
	h = curl_slist_append(h, "Expect:");
	if (!rq->no_version) {
		snprintf(hdr, sizeof hdr, "X-Experience-API-Version: %s", rq->version ? rq->version : "1.0.3");
		h = curl_slist_append(h, hdr);
	}
	if (rq->user) {
		curl_easy_setopt(cu, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(cu, CURLOPT_USERNAME, rq->user);
		curl_easy_setopt(cu, CURLOPT_PASSWORD, rq->pass ? rq->pass : "");
	}
	if (rq->bearer) {
		snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", rq->bearer);
		h = curl_slist_append(h, hdr);
	}
	if (rq->if_match) {
		snprintf(hdr, sizeof hdr, "If-Match: %s", rq->if_match);
		h = curl_slist_append(h, hdr);
	}
	if (rq->if_none_match) {
		snprintf(hdr, sizeof hdr, "If-None-Match: %s", rq->if_none_match);
		h = curl_slist_append(h, hdr);
	}
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, h);
	out->rc = curl_easy_perform(cu);
	if (out->rc == CURLE_OK)
		curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(h);
	return out->status;
}

/* Percent-encodes @s for a query string; free with curl_free(). */
static inline char *hc_escape(const char *s)
{
	return curl_easy_escape(NULL, s, 0);
}

#endif
