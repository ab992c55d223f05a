/* recommend: a learner's next activities (or mastery, or due reviews) for
 * the operator acting on the learner's request; curriculum load|show and
 * personal params: the node's personalisation configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "learnvault/door.h"
#include "learnvault/consent.h"
#include "learnvault/query.h"
#include "learnvault/recommend.h"
#include "learnvault/util.h"

int cmd_recommend(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *learner = NULL, *limit_s = NULL, *view = "next", *rebuild = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir}, {"passphrase-file", true, &pass_file}, {"learner", true, &learner},
		{"limit", true, &limit_s}, {"view", true, &view}, {"rebuild", false, &rebuild}, {0, false, NULL}};
	int first = cli_parse(argc, argv, 1, opts);
	if (first < 0)
		return 2;
	unsigned long long limit = 0;
	if (limit_s && cli_uint("recommend --limit", limit_s, 1, LV_REVIEWS_LIMIT_MAX, &limit) != 0)
		return 2;
	if (!learner || first != argc ||
	    (strcmp(view, "next") != 0 && strcmp(view, "mastery") != 0 && strcmp(view, "reviews") != 0)) {
		cli_fail("recommend: --data DIR --learner PSEUDONYM [--limit N] [--view next|mastery|reviews] [--rebuild]");
		return 2;
	}
	struct lv_node *node = NULL;
	if (cli_open_vaults(dir, pass_file, "recommend", &node) != 0)
		return 1;
	/* The operator fulfilling the learner's request: logged as such. */
	struct lv_principal admin = {.role = LV_ROLE_ADMIN, .id = "cli"};
	cJSON *o = NULL;
	enum lv_status st = rebuild ? lv_personal_rebuild(node, learner) : LV_OK;
	int64_t now = util_now_ms();
	if (st == LV_OK) {
		if (strcmp(view, "next") == 0)
			st = lv_learner_next(node, &admin, learner, LV_PURPOSE_OPERATOR_REQUEST, (unsigned)limit, now, &o);
		else if (strcmp(view, "mastery") == 0)
			st = lv_learner_mastery(node, &admin, learner, LV_PURPOSE_OPERATOR_REQUEST, now, &o);
		else
			st = lv_learner_reviews(node, &admin, learner, LV_PURPOSE_OPERATOR_REQUEST, (unsigned)limit, now, &o);
	}
	lv_node_close(node);
	if (st != LV_OK)
		return cli_fail("recommend: %s", st == LV_ERR_NOT_FOUND ? "no such learner"
						 : st == LV_ERR_INVALID ? "not a learner pseudonym"
						 : st == LV_ERR_FORBIDDEN ? "refused" : lv_status_str(st));
	return cli_print(o);
}

/* Loads one configuration file through @load. */
static int load_file(const char *what, const char *dir, const char *pass_file, const char *path, size_t max,
		     enum lv_status (*load)(struct lv_node *, const char *, size_t, char *))
{
	char *text = NULL, err[LV_PERSONAL_ERR_LEN];
	size_t len = 0;
	enum lv_status st = util_read_file(path, max, &text, &len);
	if (st != LV_OK)
		return cli_fail("%s: cannot read %s (%s)", what, path,
				st == LV_ERR_TOO_LARGE ? "over the size cap" : lv_status_str(st));
	struct lv_node *node = NULL;
	if (cli_open(dir, pass_file, &node) != 0) {
		free(text);
		return 1;
	}
	st = load(node, text, len, err);
	free(text);
	cJSON *cfg = NULL;
	if (st == LV_OK)
		st = lv_personal_config(node, &cfg);
	lv_node_close(node);
	if (st != LV_OK)
		return cli_fail("%s: %s: %s", what, path, err[0] ? err : lv_status_str(st));
	fprintf(stderr, "learnvault: %s: loaded %s; learners' states are rebuilt at their next read\n", what, path);
	return cli_print(cfg);
}

int cmd_curriculum(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL;
	const struct cli_opt opts[] = {{"data", true, &dir}, {"passphrase-file", true, &pass_file}, {0, false, NULL}};
	bool load = argc >= 2 && strcmp(argv[1], "load") == 0;
	bool show = argc >= 2 && strcmp(argv[1], "show") == 0;
	if (!load && !show)
		return cli_fail("curriculum: load --data DIR FILE.json | show --data DIR");
	int first = cli_parse(argc, argv, 2, opts);
	if (first < 0)
		return 2;
	if (load && first != argc - 1)
		return cli_fail("curriculum load: name one curriculum file");
	if (show && first != argc)
		return cli_fail("curriculum show: --data DIR");
	if (load)
		return load_file("curriculum load", dir, pass_file, argv[first], LV_CURRICULUM_MAX_BYTES,
				 lv_personal_curriculum_load);
	struct lv_node *node = NULL;
	if (cli_open(dir, pass_file, &node) != 0)
		return 1;
	cJSON *cfg = NULL;
	enum lv_status st = lv_personal_config(node, &cfg);
	lv_node_close(node);
	return st == LV_OK ? cli_print(cfg) : cli_fail("curriculum show: %s", lv_status_str(st));
}

/* personal fit-global: the node's BKT defaults from the consenting
 * cohort, through the DP door; --save stores them as the parameter file. */
static int fit_global(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *purpose = NULL, *eps_s = NULL, *it_s = NULL, *m_s = NULL,
		   *l_s = NULL, *save = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir}, {"passphrase-file", true, &pass_file}, {"purpose", true, &purpose},
		{"epsilon", true, &eps_s}, {"iterations", true, &it_s}, {"max-skills", true, &m_s},
		{"max-len", true, &l_s}, {"save", false, &save}, {0, false, NULL}};
	int first = cli_parse(argc, argv, 2, opts);
	if (first < 0)
		return 2;
	if (first != argc || !purpose || !eps_s)
		return cli_fail("personal fit-global --data DIR --purpose P --epsilon E [--iterations T]"
				" [--max-skills M] [--max-len L] [--save]") + 1;
	struct lv_bkt_dp_opts o;
	lv_bkt_dp_opts_init(&o);
	if (cli_real("personal fit-global --epsilon", eps_s, 0, 1e6, &o.epsilon) != 0)
		return 2;
	if (!(o.epsilon > 0))
		return cli_fail("personal fit-global: --epsilon must be a positive number") + 1;
	const char *const *uv[3] = {&it_s, &m_s, &l_s};
	const char *const names[3] = {"personal fit-global --iterations", "personal fit-global --max-skills",
				      "personal fit-global --max-len"};
	unsigned *dst[3] = {&o.iterations, &o.max_skills, &o.max_len};
	for (int i = 0; i < 3; i++) {
		unsigned long long v;
		if (!*uv[i])
			continue;
		if (cli_uint(names[i], *uv[i], 1, 1000, &v) != 0)
			return 2;
		*dst[i] = (unsigned)v;
	}
	struct lv_node *node = NULL;
	if (cli_open(dir, pass_file, &node) != 0)
		return 1;
	struct lv_principal op = {.role = LV_ROLE_ADMIN};
	snprintf(op.id, sizeof op.id, "operator");
	char *answer = NULL, err[LV_QUERY_ERR_LEN];
	enum lv_status st = lv_personal_fit_global(node, &op, purpose, &o, util_now_ms(), &answer, err);
	int rc = 0;
	if (st != LV_OK) {
		rc = cli_fail("personal fit-global: %s", err);
	} else if (save) {
		/* The released parameters become the node's defaults. */
		cJSON *a = cJSON_Parse(answer), *file = cJSON_CreateObject();
		cJSON_AddItemToObject(file, "defaults", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(a, "value"), true));
		char *text = cJSON_PrintUnformatted(file), perr[LV_PERSONAL_ERR_LEN];
		if (!text || lv_personal_params_load(node, text, strlen(text), perr) != LV_OK)
			rc = cli_fail("personal fit-global: could not save the parameters: %s", text ? perr : "no memory");
		free(text);
		cJSON_Delete(file);
		cJSON_Delete(a);
	}
	lv_node_close(node);
	if (rc == 0)
		rc = cli_print(cJSON_Parse(answer));
	free(answer);
	return rc;
}

int cmd_personal(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "fit-global") == 0)
		return fit_global(argc, argv);
	const char *dir = NULL, *pass_file = NULL;
	const struct cli_opt opts[] = {{"data", true, &dir}, {"passphrase-file", true, &pass_file}, {0, false, NULL}};
	if (argc < 2 || strcmp(argv[1], "params") != 0)
		return cli_fail("personal: params --data DIR FILE.json | fit-global --data DIR --purpose P --epsilon E");
	int first = cli_parse(argc, argv, 2, opts);
	if (first < 0)
		return 2;
	if (first != argc - 1)
		return cli_fail("personal params: name one BKT parameter file");
	return load_file("personal params", dir, pass_file, argv[first], LV_BKT_PARAMS_MAX_BYTES,
			 lv_personal_params_load);
}
