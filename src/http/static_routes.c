/* The web door's static files: GET and HEAD of the front-end embedded at
 * build time (web_assets.c), with a strong ETag so a browser revalidates
 * cheaply (Cache-Control: no-cache) and gets a new file the moment the
 * binary changes.  Only these paths are answered here; every other path
 * keeps the JSON 404 of dispatch(). */
#include <string.h>

#include "http.h"

const struct web_asset *static_find(const char *path)
{
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (size_t i = 0; i < web_assets_count; i++)
		if (strcmp(web_assets[i].path, path) == 0)
			return &web_assets[i];
	return NULL;
}

/* True when the If-None-Match list @h names @etag (or is "*").  The weak
 * comparison of RFC 9110 §13.1.2: a "W/" prefix is ignored.  The header
 * is client text: scanned in place, never copied, so its length needs no
 * cap beyond the one libmicrohttpd puts on a request's headers. */
static bool etag_listed(const char *h, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = h;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p != '"')
			return false;
		const char *end = strchr(p + 1, '"');
		if (!end)
			return false;
		if ((size_t)(end + 1 - p) == elen && memcmp(p, etag, elen) == 0)
			return true;
		p = end + 1;
	}
	return false;
}

enum MHD_Result static_route(struct http_req *r, const struct web_asset *a)
{
	if (strcmp(r->method, "GET") != 0)
		return reply_error(r, 405, "method_not_allowed", "only GET and HEAD are allowed here");
	const char *inm = req_header(r, "If-None-Match");
	const char *extra[] = {"ETag", a->etag, "Cache-Control", "no-cache", NULL, NULL};
	if (inm && etag_listed(inm, a->etag))
		return reply_bytes(r, 304, NULL, "", 0, extra);
	return reply_bytes(r, 200, a->content_type, a->data, a->len, extra);
}
