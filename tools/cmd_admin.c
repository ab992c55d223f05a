/* credential, learner, demo-seed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cli.h"
#include "learnvault/consent.h"
#include "learnvault/door.h"
#include "learnvault/util.h"

/* Issues a credential and adds its presentation to @o:
 * {"key","secret"} for providers, {"token"} otherwise. */
static enum lv_status issue(struct lv_node *node, enum lv_role role, const char *learner,
			    const char *const *purposes, size_t np, const char *label, cJSON *o)
{
	char id[LV_CRED_ID_LEN];
	char *secret = NULL;
	enum lv_status st = lv_credential_add(node, role, learner, purposes, np, label, id, &secret);
	if (st != LV_OK)
		return st;
	if (role == LV_ROLE_PROVIDER) {
		cJSON_AddStringToObject(o, "key", id);
		cJSON_AddStringToObject(o, "secret", secret);
	} else {
		struct buf t;
		buf_init(&t, 256);
		if (buf_printf(&t, "%s.%s", id, secret) == LV_OK)
			cJSON_AddStringToObject(o, "token", t.data);
		sodium_memzero(t.data, t.len);
		buf_free(&t);
	}
	sodium_free(secret);
	return LV_OK;
}

/* The options of `credential <verb>`. */
struct credential_args {
	const char *dir, *pass_file, *role_s, *learner, *label;
	const char *purposes[LV_MAX_PURPOSES];
	size_t np;
};

/* Reads the options after the verb into @ca.  Returns 0, or the exit
 * code. */
static int credential_args(int argc, char **argv, struct credential_args *ca)
{
	static const struct option opts[] = {
		{"data", required_argument, 0, 'd'}, {"passphrase-file", required_argument, 0, 'p'},
		{"role", required_argument, 0, 'r'}, {"learner", required_argument, 0, 'l'},
		{"purpose", required_argument, 0, 'u'}, {"label", required_argument, 0, 'b'},
		{0, 0, 0, 0}};
	int c;
	memset(ca, 0, sizeof *ca);
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': ca->dir = optarg; break;
		case 'p': ca->pass_file = optarg; break;
		case 'r': ca->role_s = optarg; break;
		case 'l': ca->learner = optarg; break;
		case 'b': ca->label = optarg; break;
		case 'u':
			if (ca->np == LV_MAX_PURPOSES)
				return cli_fail("credential: at most %d purposes", LV_MAX_PURPOSES);
			ca->purposes[ca->np++] = optarg;
			break;
		default: return 2;
		}
	}
	return 0;
}

static int credential_add(const struct credential_args *ca)
{
	struct lv_node *node = NULL;
	int rc;
	enum lv_role role = lv_role_parse(ca->role_s);
	if (role == LV_ROLE_NONE)
		return cli_fail("credential add: --role provider|learner|guardian|analyst|auditor|admin");
	if ((role == LV_ROLE_LEARNER || role == LV_ROLE_GUARDIAN) != (ca->learner != NULL))
		return cli_fail("credential add: --learner is required for, and only for, learner and guardian credentials");
	if (ca->np && role != LV_ROLE_ANALYST)
		return cli_fail("credential add: --purpose applies to analyst credentials");
	if (cli_open(ca->dir, ca->pass_file, &node) != 0)
		return 1;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "role", lv_role_str(role));
	enum lv_status st = issue(node, role, ca->learner, ca->purposes, ca->np, ca->label, o);
	if (st != LV_OK) {
		cJSON_Delete(o);
		rc = cli_fail("credential add: %s", st == LV_ERR_NOT_FOUND ? "no such learner" : lv_status_str(st));
	} else {
		rc = cli_print(o);
	}
	lv_node_close(node);
	return rc;
}

static int credential_list(const struct credential_args *ca)
{
	struct lv_node *node = NULL;
	int rc;
	if (cli_open(ca->dir, ca->pass_file, &node) != 0)
		return 1;
	char *json = NULL;
	enum lv_status st = lv_credential_list(node, &json);
	if (st != LV_OK) {
		rc = cli_fail("credential list: %s", lv_status_str(st));
	} else {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "credentials", cJSON_Parse(json));
		rc = cli_print(o);
	}
	free(json);
	lv_node_close(node);
	return rc;
}

/* @id: the operand naming the credential. */
static int credential_revoke(const struct credential_args *ca, const char *id)
{
	struct lv_node *node = NULL;
	int rc;
	if (cli_open(ca->dir, ca->pass_file, &node) != 0)
		return 1;
	enum lv_status st = lv_credential_revoke(node, id);
	if (st != LV_OK) {
		rc = cli_fail("credential revoke: %s", st == LV_ERR_NOT_FOUND ? "no such active credential" : lv_status_str(st));
	} else {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "revoked", id);
		rc = cli_print(o);
	}
	lv_node_close(node);
	return rc;
}

int cmd_credential(int argc, char **argv)
{
	struct credential_args ca;
	if (argc < 2)
		return cli_fail("credential: add | list | revoke");
	const char *verb = argv[1];
	int rc = credential_args(argc, argv, &ca);
	if (rc != 0)
		return rc;
	if (strcmp(verb, "add") == 0)
		return credential_add(&ca);
	if (strcmp(verb, "list") == 0)
		return credential_list(&ca);
	if (strcmp(verb, "revoke") == 0) {
		if (optind + 1 != argc)
			return cli_fail("credential revoke: one credential ID");
		return credential_revoke(&ca, argv[optind]);
	}
	return cli_fail("credential: add | list | revoke");
}

/* Enrols the actor and issues a learner token; fills @o. */
static enum lv_status enrol(struct lv_node *node, const char *actor_json, cJSON *o)
{
	char p[LV_PSEUDONYM_LEN];
	bool created = false;
	enum lv_status st = lv_learner_enrol(node, actor_json, p, &created);
	if (st != LV_OK)
		return st;
	cJSON_AddStringToObject(o, "learner", p);
	cJSON_AddBoolToObject(o, "created", created);
	return issue(node, LV_ROLE_LEARNER, p, NULL, 0, NULL, o);
}

int cmd_learner(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *mbox = NULL, *home = NULL, *name = NULL;
	const char *acct = NULL, *birth = NULL;
	static const struct option opts[] = {
		{"data", required_argument, 0, 'd'}, {"passphrase-file", required_argument, 0, 'p'},
		{"mbox", required_argument, 0, 'm'}, {"account", required_argument, 0, 'a'},
		{"name", required_argument, 0, 'n'}, {"birth-date", required_argument, 0, 'b'}, {0, 0, 0, 0}};
	if (argc < 2 || strcmp(argv[1], "add") != 0)
		return cli_fail("learner: add --data DIR (--mbox mailto:... | --account HOMEPAGE NAME)");
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'p': pass_file = optarg; break;
		case 'm': mbox = optarg; break;
		case 'a':
			home = optarg;
			if (optind >= argc)
				return cli_fail("learner add: --account HOMEPAGE NAME");
			acct = argv[optind++];
			break;
		case 'n': name = optarg; break;
		case 'b': birth = optarg; break;
		default: return 2;
		}
	}
	if (!mbox == !home)
		return cli_fail("learner add: give exactly one of --mbox or --account");
	cJSON *actor = cJSON_CreateObject();
	cJSON_AddStringToObject(actor, "objectType", "Agent");
	if (name)
		cJSON_AddStringToObject(actor, "name", name);
	if (mbox) {
		cJSON_AddStringToObject(actor, "mbox", mbox);
	} else {
		cJSON *a = cJSON_AddObjectToObject(actor, "account");
		cJSON_AddStringToObject(a, "homePage", home);
		cJSON_AddStringToObject(a, "name", acct);
	}
	char *text = cJSON_PrintUnformatted(actor);
	cJSON_Delete(actor);
	struct lv_node *node = NULL;
	if (cli_open(dir, pass_file, &node) != 0) {
		free(text);
		return 1;
	}
	cJSON *o = cJSON_CreateObject();
	enum lv_status st = enrol(node, text, o);
	free(text);
	if (st == LV_OK && birth) {
		/* For the guardian rule of consent policies. */
		st = lv_learner_set_birth_date(node, cJSON_GetObjectItemCaseSensitive(o, "learner")->valuestring, birth);
		if (st == LV_ERR_INVALID) {
			cJSON_Delete(o);
			lv_node_close(node);
			return cli_fail("learner add: --birth-date wants YYYY-MM-DD");
		}
	}
	int rc;
	if (st != LV_OK) {
		cJSON_Delete(o);
		rc = cli_fail("learner add: %s", st == LV_ERR_INVALID ? "not a valid xAPI agent (mbox must be mailto:...)" : lv_status_str(st));
	} else {
		rc = cli_print(o);
	}
	lv_node_close(node);
	return rc;
}

/* A demo class of 40 learners (aged 13+) who consented to
 * "course-improvement" when that policy is loaded, each with a few quiz
 * results: enough for the aggregate door's minimum cohort. */
#define DEMO_CLASS 40
static int demo_class(struct lv_node *node, const char *provider_id, cJSON *out)
{
	static const char *const VERBS[] = {"completed", "passed", "failed"};
	cJSON *arr = cJSON_CreateArray();
	for (unsigned l = 0; l < DEMO_CLASS; l++) {
		for (unsigned q = 0; q < 4; q++) {
			/* Deterministic: quiz q of learner l. */
			unsigned h = (l * 2654435761u) ^ (q * 40503u);
			double score = (double)((h >> 8) % 61 + 40) / 100.0;
			const char *verb = score >= 0.6 ? VERBS[(h >> 4) % 2] : VERBS[2];
			char st[1024];
			snprintf(st, sizeof st,
				 "{\"actor\":{\"objectType\":\"Agent\",\"name\":\"Student %02u\","
				 "\"mbox\":\"mailto:student%02u@class.example.org\"},"
				 "\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/%s\",\"display\":{\"en-US\":\"%s\"}},"
				 "\"object\":{\"id\":\"https://lms.example.org/course/fractions/quiz-%u\","
				 "\"definition\":{\"type\":\"http://adlnet.gov/expapi/activities/assessment\","
				 "\"name\":{\"en-US\":\"Fractions quiz %u\"}}},"
				 "\"result\":{\"score\":{\"scaled\":%.2f},\"success\":%s,\"completion\":true,"
				 "\"duration\":\"PT%uM\"},"
				 "\"context\":{\"contextActivities\":{\"parent\":[{\"id\":\"https://lms.example.org/course/fractions\"}]}},"
				 "\"timestamp\":\"2026-10-%02uT09:%02u:00Z\"}",
				 l + 1, l + 1, verb, verb, q + 1, q + 1, score, score >= 0.6 ? "true" : "false",
				 5 + h % 20, 5 + q * 3, l);
			cJSON_AddItemToArray(arr, cJSON_Parse(st));
		}
	}
	char *text = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	cJSON *ids = NULL;
	int rc = cli_ingest_text(node, provider_id, text, strlen(text), &ids);
	free(text);
	cJSON_Delete(ids);
	if (rc != 0)
		return rc;
	unsigned consented = 0;
	for (unsigned l = 0; l < DEMO_CLASS; l++) {
		char actor[128], p[LV_PSEUDONYM_LEN], rid[LV_RECORD_ID_LEN], err[LV_CONSENT_ERR_LEN];
		bool created;
		snprintf(actor, sizeof actor, "{\"mbox\":\"mailto:student%02u@class.example.org\"}", l + 1);
		struct lv_principal op = {.role = LV_ROLE_ADMIN, .id = "demo"};
		if (lv_learner_enrol(node, actor, p, &created) != LV_OK ||
		    lv_learner_set_birth_date(node, p, "2010-09-01") != LV_OK)
			return cli_fail("demo-seed: cannot enrol the demo class");
		/* Most of the class says yes; a few say no. */
		if (l % 8 != 7 && lv_consent_decide(node, &op, LV_ROLE_LEARNER, p, "course-improvement", 0, true, rid, err) == LV_OK)
			consented++;
	}
	cJSON_AddNumberToObject(out, "class_learners", DEMO_CLASS);
	cJSON_AddNumberToObject(out, "class_consented", consented);
	return 0;
}

/* One learner of examples/learners.json: an xAPI agent plus the demo's
 * own members, "birth_date" (YYYY-MM-DD) or "age" (years: born on January
 * 1st that many years ago, so a child stays a child whenever the demo is
 * made), and "guardian" (a label: a guardian credential is issued for
 * them).  Enrols the agent, issues a learner token, sets the birth date;
 * fills @o. */
static enum lv_status demo_learner(struct lv_node *node, const cJSON *l, cJSON *o)
{
	char bd[16] = "";
	cJSON *agent = cJSON_Duplicate(l, true);
	cJSON *b = cJSON_DetachItemFromObjectCaseSensitive(agent, "birth_date");
	cJSON *age = cJSON_DetachItemFromObjectCaseSensitive(agent, "age");
	cJSON *g = cJSON_DetachItemFromObjectCaseSensitive(agent, "guardian");
	if (cJSON_IsString(b)) {
		snprintf(bd, sizeof bd, "%s", b->valuestring);
	} else if (cJSON_IsNumber(age)) {
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		snprintf(bd, sizeof bd, "%04d-01-01", tm.tm_year + 1900 - age->valueint);
	}
	const cJSON *nm = cJSON_GetObjectItemCaseSensitive(l, "name");
	cJSON_AddStringToObject(o, "name", cJSON_IsString(nm) ? nm->valuestring : "");
	char *a = cJSON_PrintUnformatted(agent);
	enum lv_status st = a ? enrol(node, a, o) : LV_ERR_NOMEM;
	free(a);
	const char *p = st == LV_OK ? cJSON_GetObjectItemCaseSensitive(o, "learner")->valuestring : NULL;
	if (st == LV_OK && bd[0]) {
		st = lv_learner_set_birth_date(node, p, bd);
		if (st == LV_OK)
			cJSON_AddStringToObject(o, "birth_date", bd);
	}
	if (st == LV_OK && cJSON_IsString(g)) {
		cJSON *go = cJSON_AddObjectToObject(o, "guardian");
		cJSON_AddStringToObject(go, "label", g->valuestring);
		st = issue(node, LV_ROLE_GUARDIAN, p, NULL, 0, g->valuestring, go);
	}
	cJSON_Delete(b);
	cJSON_Delete(age);
	cJSON_Delete(g);
	cJSON_Delete(agent);
	return st;
}

int cmd_demo_seed(int argc, char **argv)
{
	const char *dir = NULL, *examples = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir},
		{"examples", true, &examples},
		{0, false, NULL}};
	if (cli_parse(argc, argv, 1, opts) < 0)
		return 2;
	if (!examples)
		return cli_fail("demo-seed: --examples DIR is required");
	struct lv_node *node = NULL;
	if (cli_open_vaults(dir, NULL, "demo-seed", &node) != 0)
		return 1;
	int rc = 1;
	char path[4096];
	char *text = NULL;
	cJSON *learners = NULL, *ids = NULL;
	cJSON *out = cJSON_CreateObject();
	cJSON *prov = cJSON_AddObjectToObject(out, "provider");
	if (issue(node, LV_ROLE_PROVIDER, NULL, NULL, 0, "demo LMS", prov) != LV_OK)
		goto done;
	const char *roles[] = {"admin", "auditor", "analyst"};
	for (size_t i = 0; i < 3; i++) {
		cJSON *o = cJSON_AddObjectToObject(out, roles[i]);
		const char *purpose[] = {"course-improvement"};
		if (issue(node, lv_role_parse(roles[i]), NULL, purpose, i == 2 ? 1 : 0, "demo", o) != LV_OK)
			goto done;
	}
	snprintf(path, sizeof path, "%s/learners.json", examples);
	if (util_read_file(path, 1 << 20, &text, NULL) != LV_OK || !(learners = cJSON_Parse(text))) {
		cli_fail("demo-seed: cannot read %s", path);
		goto done;
	}
	free(text);
	text = NULL;
	cJSON *arr = cJSON_AddArrayToObject(out, "learners");
	const cJSON *l;
	cJSON_ArrayForEach(l, learners) {
		cJSON *o = cJSON_CreateObject();
		enum lv_status st = demo_learner(node, l, o);
		cJSON_AddItemToArray(arr, o);
		if (st != LV_OK) {
			cli_fail("demo-seed: cannot enrol a learner: %s", lv_status_str(st));
			goto done;
		}
	}
	snprintf(path, sizeof path, "%s/statements.json", examples);
	size_t len = 0;
	if (util_read_file(path, 64 << 20, &text, &len) != LV_OK) {
		cli_fail("demo-seed: cannot read %s", path);
		goto done;
	}
	if (cli_ingest_text(node, cJSON_GetObjectItemCaseSensitive(prov, "key")->valuestring, text, len, &ids) != 0)
		goto done;
	cJSON_AddNumberToObject(out, "statements", cJSON_GetArraySize(ids));
	if (demo_class(node, cJSON_GetObjectItemCaseSensitive(prov, "key")->valuestring, out) != 0)
		goto done;
	fprintf(stderr, "learnvault: demo node seeded with %d learners and %d statements\n",
		cJSON_GetArraySize(learners), cJSON_GetArraySize(ids));
	rc = cli_print(out);
	out = NULL;
done:
	cJSON_Delete(out);
	cJSON_Delete(learners);
	cJSON_Delete(ids);
	free(text);
	lv_node_close(node);
	return rc;
}

int cmd_erase(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *learner = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir},
		{"passphrase-file", true, &pass_file},
		{"learner", true, &learner},
		{0, false, NULL}};
	if (cli_parse(argc, argv, 1, opts) < 0)
		return 2;
	if (!learner)
		return cli_fail("erase: --learner PSEUDONYM is required");
	struct lv_node *node = NULL;
	if (cli_open_vaults(dir, pass_file, "erase", &node) != 0)
		return 1;
	enum lv_status st = lv_learner_erase(node, learner);
	lv_node_close(node);
	if (st != LV_OK)
		return cli_fail("erase: %s", st == LV_ERR_NOT_FOUND ? "no such learner" :
				st == LV_ERR_INVALID ? "not a learner pseudonym" : lv_status_str(st));
	fprintf(stderr, "learnvault: learner erased; backups of node.db keep the wrapped key until `learnvault key rotate`\n");
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "erased", learner);
	return cli_print(o);
}

int cmd_key(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *new_pass_file = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir},
		{"passphrase-file", true, &pass_file},
		{"new-passphrase-file", true, &new_pass_file},
		{0, false, NULL}};
	if (argc < 2 || strcmp(argv[1], "rotate") != 0)
		return cli_fail("key: rotate --data DIR [--passphrase-file F] [--new-passphrase-file G]");
	if (cli_parse(argc, argv, 2, opts) < 0)
		return 2;
	if (!dir)
		return cli_fail("key rotate: --data DIR is required");
	struct lv_node_keysource cur = {0}, next = {0};
	char *p1 = NULL, *p2 = NULL;
	int rc = 1;
	if (pass_file && cli_read_passphrase(pass_file, &p1, &cur.passphrase_len) != 0)
		goto out;
	if (new_pass_file && cli_read_passphrase(new_pass_file, &p2, &next.passphrase_len) != 0)
		goto out;
	cur.passphrase = p1;
	next.passphrase = p2;
	enum lv_status st = lv_node_rotate_key(dir, &cur, &next);
	if (st == LV_ERR_IN_USE) {
		char who[LV_NODE_HOLDER_LEN];
		if (lv_node_holder(dir, who) != LV_OK)
			snprintf(who, sizeof who, "another process");
		cli_fail("key rotate: the node in %s is open in another process (%s); a rotation must run alone: "
			 "stop the server and other commands first.  Nothing was changed", dir, who);
		goto out;
	}
	if (st != LV_OK) {
		cli_fail("key rotate: %s (the node still opens with its current key)", lv_status_str(st));
		goto out;
	}
	fprintf(stderr, "learnvault: node key rotated; the old key is destroyed\n");
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "rotated", true);
	cJSON_AddStringToObject(o, "key_source", p2 ? "passphrase" : "file");
	rc = cli_print(o);
out:
	if (p1)
		sodium_free(p1);
	if (p2)
		sodium_free(p2);
	return rc;
}

int cmd_export(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *learner = NULL, *out = NULL, *report = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir}, {"passphrase-file", true, &pass_file}, {"learner", true, &learner},
		{"out", true, &out}, {"access-report", false, &report}, {0, false, NULL}};
	if (cli_parse(argc, argv, 1, opts) < 0)
		return 2;
	bool report_only = report != NULL;
	if (!learner || !out)
		return cli_fail("export: --data DIR --learner PSEUDONYM --out FILE [--access-report]");
	struct lv_node *node = NULL;
	if (cli_open_vaults(dir, pass_file, "export", &node) != 0)
		return 1;
	/* The operator fulfilling a learner's request: logged as such. */
	struct lv_principal admin = {.role = LV_ROLE_ADMIN, .id = "cli"};
	cJSON *doc = NULL;
	enum lv_status st = report_only ? lv_learner_access_report(node, learner, &doc)
					: lv_learner_export(node, &admin, learner, LV_PURPOSE_OPERATOR_REQUEST, &doc);
	int rc;
	if (st != LV_OK) {
		rc = cli_fail("export: %s", st == LV_ERR_FORBIDDEN ? "refused" : lv_status_str(st));
	} else {
		char *text = cJSON_Print(doc);
		st = text ? util_write_file(out, text, strlen(text), 0600, false) : LV_ERR_NOMEM;
		free(text);
		if (st != LV_OK) {
			rc = cli_fail("export: cannot write %s", out);
		} else {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "exported", out);
			cJSON_AddStringToObject(o, "learner", learner);
			rc = cli_print(o);
		}
	}
	cJSON_Delete(doc);
	lv_node_close(node);
	return rc;
}
