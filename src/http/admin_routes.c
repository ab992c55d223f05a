/* The admin door (admin credentials, by bearer token or session): the
 * role check and the dispatch, and the federation routes.
 *   GET  /admin/federation/tasks              the node's tasks
 *   POST /admin/federation/tasks              add a task (the task file as the body)
 *   POST /admin/federation/tasks/{id}/upload  one upload (the summary as the answer)
 * Status, learners, credentials, policies and settings: admin_api.c.
 * The use cases decide everything (query/federate.c); this file maps. */
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "learnvault/federation.h"
#include "learnvault/query.h"

#define TASKS "/admin/federation/tasks"

static enum MHD_Result reply_text_json(struct http_req *r, unsigned status, char *text)
{
	enum MHD_Result ret = reply_bytes(r, status, "application/json", text, strlen(text), NULL);
	free(text);
	return ret;
}

static enum MHD_Result tasks(struct http_req *r)
{
	char *out = NULL, err[LV_QUERY_ERR_LEN];
	enum lv_status st;
	if (strcmp(r->method, "GET") == 0) {
		if ((st = lv_federate_task_list(r->node, &r->who, &out)) != LV_OK)
			return reply_status(r, st, "the tasks could not be listed");
		return reply_text_json(r, 200, out);
	}
	if (strcmp(r->method, "POST") != 0)
		return reply_error(r, 405, "method_not_allowed", "GET the tasks or POST a task file");
	st = lv_federate_task_add(r->node, &r->who, (const char *)r->content, r->content_len, util_now_ms(), &out, err);
	if (st == LV_ERR_EXISTS)
		return reply_text_json(r, 200, out);
	if (st != LV_OK)
		return reply_status(r, st, err);
	return reply_text_json(r, 201, out);
}

static enum MHD_Result upload(struct http_req *r, const char *id)
{
	if (strcmp(r->method, "POST") != 0)
		return reply_error(r, 405, "method_not_allowed", "POST to upload");
	char *out = NULL, err[LV_QUERY_ERR_LEN];
	enum lv_status st = lv_federate_upload(r->node, &r->who, id, util_now_ms(), NULL, &out, err);
	if (st != LV_OK)
		return reply_status(r, st, err);
	return reply_text_json(r, 200, out);
}

/* What follows @prefix in @path: "" for the collection itself, "/..." for
 * a member; NULL when @path is not under @prefix. */
static const char *under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(path, prefix, n) != 0 || (path[n] != '\0' && path[n] != '/'))
		return NULL;
	return path + n;
}

/* The request log's route template (reqlog.c) for @path under /admin:
 * a member (a learner's pseudonym, a credential id, a task id) becomes
 * {id}; a path no route takes keeps the door's wildcard. */
static const char *admin_template(const char *path)
{
	static const char *const EXACT[] = {"/admin/status", "/admin/learners", "/admin/credentials",
					    "/admin/policies", "/admin/settings", TASKS, NULL};
	for (size_t i = 0; EXACT[i]; i++)
		if (strcmp(path, EXACT[i]) == 0)
			return EXACT[i];
	const char *rest = under(path, "/admin/learners");
	size_t n = rest ? strlen(rest) : 0;
	if (rest && n > 11 && strcmp(rest + n - 11, "/birth-date") == 0)
		return "/admin/learners/{id}/birth-date";
	if (rest && n > 7 && strcmp(rest + n - 7, "/tokens") == 0)
		return "/admin/learners/{id}/tokens";
	if ((rest = under(path, "/admin/credentials")) && rest[0])
		return "/admin/credentials/{id}";
	if ((rest = under(path, "/admin/settings")) && rest[0])
		return "/admin/settings/{name}";
	if ((rest = under(path, TASKS)) && rest[0])
		return TASKS "/{id}/upload";
	return "/admin/*";
}

enum MHD_Result admin_route(struct http_req *r)
{
	r->route = admin_template(r->path);
	if (!r->authenticated)
		return reply_error(r, 401, "unauthorized", "an admin token is required");
	if (r->who.role != LV_ROLE_ADMIN)
		return reply_error(r, 403, "forbidden", "the admin door is for admin credentials");
	if (r->nparams)
		return reply_error(r, 400, "invalid", "the admin door takes no URL parameters");
	const char *rest;
	if (strcmp(r->path, "/admin/status") == 0)
		return admin_status(r);
	if ((rest = under(r->path, "/admin/learners")))
		return admin_learners(r, rest);
	if ((rest = under(r->path, "/admin/credentials")))
		return admin_credentials(r, rest);
	if (strcmp(r->path, "/admin/policies") == 0)
		return admin_policies(r);
	if ((rest = under(r->path, "/admin/settings")))
		return admin_settings(r, rest);
	if (strcmp(r->path, TASKS) == 0)
		return tasks(r);
	rest = strncmp(r->path, TASKS "/", sizeof TASKS) == 0 ? r->path + sizeof TASKS : NULL;
	const char *slash = rest ? strchr(rest, '/') : NULL;
	if (slash && strcmp(slash, "/upload") == 0 && slash > rest && (size_t)(slash - rest) < LV_FED_TASK_ID_B64_LEN) {
		char id[LV_FED_TASK_ID_B64_LEN];
		memcpy(id, rest, (size_t)(slash - rest));
		id[slash - rest] = '\0';
		return upload(r, id);
	}
	return reply_error(r, 404, "not_found", "no such resource");
}
