/* Several processes, one node: a real `learnvault serve` in a child
 * process while CLI commands write to the same data directory.  Every
 * write command either works and leaves the server answering, or is
 * refused before it changes anything; key rotations never race; leftovers
 * of crashed processes are cleaned at the next open. */
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "http-client.h"

struct server {
	pid_t pid;
	uint16_t port;
};

/* Starts `learnvault serve` on @dir at an ephemeral loopback port. */
static void server_start(const char *dir, struct server *s)
{
	int fd[2];
	ck_assert_int_eq(pipe(fd), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0)
			dup2(devnull, 2);
		execl(th_bin(), th_bin(), "serve", "--data", dir, "--listen", "127.0.0.1:0", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	char line[256];
	size_t n = 0;
	/* The first stdout line: {"listening":"127.0.0.1","port":N} */
	while (n + 1 < sizeof line && read(fd[0], line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = '\0';
	close(fd[0]);
	cJSON *o = cJSON_Parse(line);
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "port");
	ck_assert_msg(cJSON_IsNumber(p), "serve did not start: '%s'", line);
	s->pid = pid;
	s->port = (uint16_t)p->valuedouble;
	cJSON_Delete(o);
}

static void server_stop(struct server *s)
{
	int st;
	kill(s->pid, SIGTERM);
	ck_assert_int_eq(waitpid(s->pid, &st, 0), s->pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Runs the CLI; returns the exit status, stdout in *@out (caller frees). */
static int cli(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int cli(char **out, const char *fmt, ...)
{
	char args[4096], errf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(errf, sizeof errf, "%s/cli.err", getenv("LV_MP_DIR"));
	char *o = NULL;
	int rc = th_run_cli(args, &o, errf);
	if (out)
		*out = o;
	else
		free(o);
	return rc;
}

static bool last_err_contains(const char *needle)
{
	char errf[512];
	snprintf(errf, sizeof errf, "%s/cli.err", getenv("LV_MP_DIR"));
	return th_file_contains(errf, needle);
}

/* A string member of the JSON object in @text (static copy). */
static const char *json_str(const char *text, const char *name)
{
	static char v[256];
	cJSON *o = cJSON_Parse(text);
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
	ck_assert_msg(cJSON_IsString(x), "no %s in %s", name, text);
	snprintf(v, sizeof v, "%s", x->valuestring);
	cJSON_Delete(o);
	return v;
}

/* The audit log's size as the auditor door reports it. */
static double audit_size(struct hc *c, const char *auditor)
{
	struct hc_resp r;
	struct hc_req rq = {.path = "/audit/checkpoint", .bearer = auditor, .no_version = true};
	ck_assert_int_eq(hc_do(c, &rq, &r), 200);
	/* C2SP checkpoint: origin line, then the size. */
	const char *nl = strchr(r.body, '\n');
	ck_assert_ptr_nonnull(nl);
	double size = strtod(nl + 1, NULL);
	hc_resp_free(&r);
	return size;
}

struct creds {
	char pkey[64], psecret[128];
	char auditor[128], analyst[128], learner_tok[128];
	char vkey[256];
	char learner[64];
};

static const char *STMT_FMT =
	"{\"id\":\"%s\",\"actor\":{\"mbox\":\"mailto:%s@school.example\"},"
	"\"verb\":{\"id\":\"http://adlnet.gov/expapi/verbs/passed\"},"
	"\"object\":{\"id\":\"http://school.example/quiz/1\"},"
	"\"result\":{\"score\":{\"scaled\":0.8},\"success\":true}}";

/* Every kind of route a live server offers, each expected to answer 2xx:
 * ingest (a new learner, enrolled by the server), provider read-back,
 * the learner's door (statements, consents, access report), the auditor
 * door and the aggregate door. */
static void exercise_routes(struct hc *c, const struct creds *k, int round)
{
	char body[1024], id[64], who[32];
	struct hc_resp r;
	snprintf(id, sizeof id, "aaaaaaaa-0000-4000-8000-%012d", round);
	snprintf(who, sizeof who, "newcomer%d", round);
	snprintf(body, sizeof body, STMT_FMT, id, who);
	struct hc_req post = {.path = "/xapi/statements", .body = body, .user = k->pkey, .pass = k->psecret};
	ck_assert_msg(hc_do(c, &post, &r) == 200, "round %d: POST statements %ld %s", round, r.status, r.body);
	hc_resp_free(&r);
	struct hc_req get = {.path = "/xapi/statements?limit=5", .user = k->pkey, .pass = k->psecret};
	ck_assert_msg(hc_do(c, &get, &r) == 200, "round %d: read-back %ld %s", round, r.status, r.body);
	hc_resp_free(&r);
	const char *lpaths[] = {"/learner/statements", "/learner/consents", "/learner/access-report", "/learner/next",
				"/learner/mastery", "/learner/reviews", "/learner/export", "/policies"};
	for (size_t i = 0; i < sizeof lpaths / sizeof lpaths[0]; i++) {
		struct hc_req lr = {.path = lpaths[i], .bearer = k->learner_tok, .no_version = true};
		ck_assert_msg(hc_do(c, &lr, &r) == 200, "round %d: %s %ld %s", round, lpaths[i], r.status, r.body);
		hc_resp_free(&r);
	}
	double size = audit_size(c, k->auditor);
	const char *apaths[] = {"/audit/entries?start=0&end=1", "/audit/key", "/audit/proof/inclusion?index=0&size=1"};
	for (size_t i = 0; i < sizeof apaths / sizeof apaths[0]; i++) {
		struct hc_req ar = {.path = apaths[i], .bearer = k->auditor, .no_version = true};
		ck_assert_msg(hc_do(c, &ar, &r) == 200, "round %d: %s %ld %s", round, apaths[i], r.status, r.body);
		hc_resp_free(&r);
	}
	/* A proof up to the newest size: the server must know the entries
	 * other processes appended. */
	char pp[128];
	snprintf(pp, sizeof pp, "/audit/proof/inclusion?index=%.0f&size=%.0f", size - 1, size);
	struct hc_req pr = {.path = pp, .bearer = k->auditor, .no_version = true};
	ck_assert_msg(hc_do(c, &pr, &r) == 200, "round %d: %s %ld %s", round, pp, r.status, r.body);
	hc_resp_free(&r);
	/* xAPI documents: a state document written and read back. */
	char st_path[512];
	snprintf(st_path, sizeof st_path,
		 "/xapi/activities/state?activityId=http%%3A%%2F%%2Fschool.example%%2Fquiz%%2F1&agent=%%7B%%22mbox%%22%%3A%%22"
		 "mailto%%3Anewcomer%d%%40school.example%%22%%7D&stateId=s%d", round, round);
	struct hc_req sp = {.method = "PUT", .path = st_path, .body = "{\"x\":1}", .user = k->pkey, .pass = k->psecret};
	ck_assert_msg(hc_do(c, &sp, &r) == 204, "round %d: PUT state %ld %s", round, r.status, r.body);
	hc_resp_free(&r);
	struct hc_req sg = {.path = st_path, .user = k->pkey, .pass = k->psecret};
	ck_assert_msg(hc_do(c, &sg, &r) == 200, "round %d: GET state %ld %s", round, r.status, r.body);
	hc_resp_free(&r);
	char q[512];
	snprintf(q, sizeof q,
		 "{\"id\":\"q-%d\",\"purpose\":\"course-improvement\",\"metric\":\"count\",\"epsilon\":0.1}", round);
	struct hc_req agg = {.path = "/aggregate", .body = q, .bearer = k->analyst, .no_version = true};
	long st = hc_do(c, &agg, &r);
	ck_assert_msg(st == 200, "round %d: aggregate %ld %s", round, st, r.body);
	hc_resp_free(&r);
}

static void setup_node(const char *dir, struct creds *k)
{
	char *out = NULL;
	ck_assert_int_eq(cli(&out, "init --data '%s'", dir), 0);
	snprintf(k->vkey, sizeof k->vkey, "%s", json_str(out, "audit_key"));
	free(out);
	ck_assert_int_eq(cli(NULL, "policy load --data '%s' '%s'", dir, th_src("policies/course-improvement.json")), 0);
	ck_assert_int_eq(cli(&out, "credential add --data '%s' --role provider", dir), 0);
	snprintf(k->pkey, sizeof k->pkey, "%s", json_str(out, "key"));
	snprintf(k->psecret, sizeof k->psecret, "%s", json_str(out, "secret"));
	free(out);
	ck_assert_int_eq(cli(&out, "credential add --data '%s' --role auditor", dir), 0);
	snprintf(k->auditor, sizeof k->auditor, "%s", json_str(out, "token"));
	free(out);
}

/* A new node in a fresh directory (@dir gets its path; the directory is
 * returned, static until the next call). */
static const char *fresh_node(char dir[600], struct creds *k)
{
	const char *tmp = th_tmpdir();
	setenv("LV_MP_DIR", tmp, 1);
	snprintf(dir, 600, "%s/node", tmp);
	setup_node(dir, k);
	return tmp;
}

START_TEST(cli_writes_beside_a_live_server)
{
	char dir[600], *out = NULL;
	struct creds k = {0};
	const char *tmp = fresh_node(dir, &k);
	struct server s;
	server_start(dir, &s);
	struct hc c;
	hc_init(&c, s.port);
	int round = 0;

	/* Each node.db write while the server runs, then every route. */
	ck_assert_int_eq(cli(&out, "learner add --data '%s' --mbox mailto:ada@school.example --birth-date 2000-01-01", dir), 0);
	snprintf(k.learner, sizeof k.learner, "%s", json_str(out, "learner"));
	free(out);
	ck_assert_int_eq(cli(&out, "credential add --data '%s' --role learner --learner %s", dir, k.learner), 0);
	snprintf(k.learner_tok, sizeof k.learner_tok, "%s", json_str(out, "token"));
	free(out);
	ck_assert_int_eq(cli(&out, "credential add --data '%s' --role analyst --purpose course-improvement", dir), 0);
	snprintf(k.analyst, sizeof k.analyst, "%s", json_str(out, "token"));
	free(out);
	exercise_routes(&c, &k, ++round);
	ck_assert_int_eq(cli(NULL, "consent grant --data '%s' --learner %s --policy course-improvement --as learner",
			     dir, k.learner), 0);
	exercise_routes(&c, &k, ++round);
	/* The learner withdraws on the door, the operator records a new
	 * grant from the CLI: both sides keep working. */
	struct hc_resp wr;
	struct hc_req wd = {.method = "DELETE", .path = "/learner/consents/course-improvement", .bearer = k.learner_tok,
			    .no_version = true};
	ck_assert_int_eq(hc_do(&c, &wd, &wr), 200);
	hc_resp_free(&wr);
	ck_assert_int_eq(cli(NULL, "consent grant --data '%s' --learner %s --policy course-improvement --as learner",
			     dir, k.learner), 0);
	exercise_routes(&c, &k, ++round);
	ck_assert_int_eq(cli(NULL, "policy load --data '%s' '%s' '%s'", dir, th_src("policies/research-study.json"),
			     th_src("policies/tutoring-personalisation.json")), 0);
	exercise_routes(&c, &k, ++round);
	ck_assert_int_eq(cli(NULL, "curriculum load --data '%s' '%s'", dir, th_src("examples/curriculum.json")), 0);
	exercise_routes(&c, &k, ++round);
	ck_assert_int_eq(cli(&out, "audit checkpoint --data '%s'", dir), 0);
	/* The first thing the server is asked after another process wrote:
	 * a proof up to the size that process signed. */
	const char *nl = strchr(out, '\n');
	ck_assert_ptr_nonnull(nl);
	long long signed_size = strtoll(nl + 1, NULL, 10);
	free(out);
	char pp[128];
	snprintf(pp, sizeof pp, "/audit/proof/inclusion?index=%lld&size=%lld", signed_size - 1, signed_size);
	struct hc_resp pr;
	struct hc_req prq = {.path = pp, .bearer = k.auditor, .no_version = true};
	ck_assert_msg(hc_do(&c, &prq, &pr) == 200, "proof at the size another process signed: %ld %s", pr.status, pr.body);
	hc_resp_free(&pr);
	exercise_routes(&c, &k, ++round);
	char qf[700];
	snprintf(qf, sizeof qf, "%s/q.json", tmp);
	FILE *f = fopen(qf, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"id\":\"cli-q\",\"purpose\":\"course-improvement\",\"metric\":\"count\",\"epsilon\":0.1}", f);
	fclose(f);
	ck_assert_int_eq(cli(NULL, "query --data '%s' '%s'", dir, qf), 0);
	exercise_routes(&c, &k, ++round);
	ck_assert_int_eq(cli(NULL, "consent withdraw --data '%s' --learner %s --policy course-improvement --as learner",
			     dir, k.learner), 0);
	exercise_routes(&c, &k, ++round);
	ck_assert_int_eq(cli(&out, "credential add --data '%s' --role admin", dir), 0);
	/* The credential id is the token's part before the dot. */
	char rid[64];
	snprintf(rid, sizeof rid, "%s", json_str(out, "token"));
	*strchr(rid, '.') = '\0';
	free(out);
	ck_assert_int_eq(cli(NULL, "credential revoke --data '%s' %s", dir, rid), 0);
	exercise_routes(&c, &k, ++round);

	/* Settings take effect on the running server. */
	ck_assert_int_eq(cli(NULL, "setting set --data '%s' max_body_bytes 2048", dir), 0);
	char big[4096];
	memset(big, ' ', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	big[0] = '[';
	big[sizeof big - 2] = ']';
	struct hc_resp r;
	struct hc_req post = {.path = "/xapi/statements", .body = big, .user = k.pkey, .pass = k.psecret};
	ck_assert_int_eq(hc_do(&c, &post, &r), 413);
	hc_resp_free(&r);
	ck_assert_int_eq(cli(NULL, "setting set --data '%s' max_body_bytes 16777216", dir), 0);
	ck_assert_int_eq(cli(NULL, "setting set --data '%s' auto_enrol off", dir), 0);
	char body[1024];
	snprintf(body, sizeof body, STMT_FMT, "bbbbbbbb-0000-4000-8000-000000000001", "stranger");
	struct hc_req p2 = {.path = "/xapi/statements", .body = body, .user = k.pkey, .pass = k.psecret};
	ck_assert_int_eq(hc_do(&c, &p2, &r), 403);
	hc_resp_free(&r);
	ck_assert_int_eq(cli(NULL, "setting set --data '%s' auto_enrol on", dir), 0);
	exercise_routes(&c, &k, ++round);

	/* Commands that need the vaults are refused, naming the server, and
	 * change nothing (the log does not grow). */
	double before = audit_size(&c, k.auditor);
	snprintf(qf, sizeof qf, "%s/one.json", tmp);
	f = fopen(qf, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, STMT_FMT, "cccccccc-0000-4000-8000-000000000001", "offline");
	fclose(f);
	char pf[700];
	snprintf(pf, sizeof pf, "%s/pass", tmp);
	f = fopen(pf, "w");
	ck_assert_ptr_nonnull(f);
	fputs("a long enough passphrase\n", f);
	fclose(f);
	const char *refused[] = {"ingest --data '%s' --provider %s '%s'", "erase --data '%s' --learner %s",
				 "export --data '%s' --learner %s --out '%s.out'", "recommend --data '%s' --learner %s",
				 "vault export --data '%s' --learner %s --passphrase-file '%s' --out '%s.v'",
				 "serve --data '%s' --listen 127.0.0.1:0", "key rotate --data '%s'"};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		char cmd[2048];
		if (i == 0)
			snprintf(cmd, sizeof cmd, refused[i], dir, k.pkey, qf);
		else if (i == 4)
			snprintf(cmd, sizeof cmd, refused[i], dir, k.learner, pf, pf);
		else if (i == 2)
			snprintf(cmd, sizeof cmd, refused[i], dir, k.learner, qf);
		else if (i >= 5)
			snprintf(cmd, sizeof cmd, refused[i], dir);
		else
			snprintf(cmd, sizeof cmd, refused[i], dir, k.learner);
		ck_assert_msg(cli(NULL, "%s", cmd) != 0, "accepted while served: %s", cmd);
		ck_assert_msg(last_err_contains("learnvault serve"), "refusal does not name the server: %s", cmd);
		ck_assert_msg(audit_size(&c, k.auditor) == before, "a refused command changed the log: %s", cmd);
	}
	exercise_routes(&c, &k, ++round);
	/* The node key is intact: the server still authenticates. */
	hc_free(&c);
	server_stop(&s);

	/* Stopped: the whole history verifies offline. */
	char logf[700];
	snprintf(logf, sizeof logf, "%s/log.json", tmp);
	ck_assert_int_eq(cli(&out, "audit export --data '%s' --out '%s'", dir, logf), 0);
	free(out);
	ck_assert_int_eq(cli(&out, "audit verify --log '%s' --key '%s'", logf, k.vkey), 0);
	free(out);
	th_rmtree(tmp);
}
END_TEST

START_TEST(second_server_refused)
{
	char dir[600];
	struct creds k = {0};
	const char *tmp = fresh_node(dir, &k);
	struct server s;
	server_start(dir, &s);
	ck_assert_int_ne(cli(NULL, "serve --data '%s' --listen 127.0.0.1:0", dir), 0);
	ck_assert(last_err_contains("already served by pid"));
	struct hc c;
	hc_init(&c, s.port);
	(void)audit_size(&c, k.auditor);
	hc_free(&c);
	server_stop(&s);
	th_rmtree(tmp);
}
END_TEST

/* Two rotations at once: one runs, the other is refused; the node opens
 * and holds its data whatever the interleaving. */
START_TEST(concurrent_rotations)
{
	char dir[600], *out = NULL;
	struct creds k = {0};
	const char *tmp = fresh_node(dir, &k);
	char sf[700];
	snprintf(sf, sizeof sf, "%s/batch.json", tmp);
	FILE *f = fopen(sf, "w");
	ck_assert_ptr_nonnull(f);
	fputc('[', f);
	for (int i = 0; i < 200; i++) {
		char id[64], who[32];
		snprintf(id, sizeof id, "dddddddd-0000-4000-8000-%012d", i);
		snprintf(who, sizeof who, "l%d", i % 20);
		fprintf(f, i ? "," : "");
		fprintf(f, STMT_FMT, id, who);
	}
	fputc(']', f);
	fclose(f);
	ck_assert_int_eq(cli(NULL, "ingest --data '%s' --provider %s '%s'", dir, k.pkey, sf), 0);
	for (int trial = 0; trial < 5; trial++) {
		char cmd[2048];
		snprintf(cmd, sizeof cmd, "'%s' key rotate --data '%s' >/dev/null 2>&1 & '%s' key rotate --data '%s' >/dev/null 2>&1 & "
			 "wait %%1; a=$?; wait %%2; b=$?; echo $a $b", th_bin(), dir, th_bin(), dir);
		FILE *p = popen(cmd, "r");
		ck_assert_ptr_nonnull(p);
		int a = -1, b = -1;
		ck_assert_int_eq(fscanf(p, "%d %d", &a, &b), 2);
		pclose(p);
		ck_assert_msg(a == 0 || b == 0, "trial %d: neither rotation ran (%d %d)", trial, a, b);
		/* The node opens with whatever key is now current... */
		ck_assert_int_eq(cli(&out, "credential list --data '%s'", dir), 0);
		free(out);
		/* ...and the vaults' keys still unwrap: a learner's export. */
		ck_assert_int_eq(cli(&out, "learner add --data '%s' --mbox mailto:l%d@school.example", dir, trial % 20), 0);
		char lp[64];
		snprintf(lp, sizeof lp, "%s", json_str(out, "learner"));
		free(out);
		ck_assert_int_eq(cli(&out, "export --data '%s' --learner %s --out '%s/x%d.json'", dir, lp, tmp, trial), 0);
		free(out);
	}
	struct server s;
	server_start(dir, &s);
	struct hc c;
	hc_init(&c, s.port);
	struct hc_resp r;
	struct hc_req get = {.path = "/xapi/statements?limit=500", .user = k.pkey, .pass = k.psecret};
	ck_assert_int_eq(hc_do(&c, &get, &r), 200);
	cJSON *res = cJSON_Parse(r.body);
	ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(res, "statements")), 200);
	cJSON_Delete(res);
	hc_resp_free(&r);
	hc_free(&c);
	server_stop(&s);
	th_rmtree(tmp);
}
END_TEST

/* What a crashed process leaves is finished or removed at the next open. */
START_TEST(crash_leftovers_cleaned)
{
	char dir[600], p[800], *out = NULL;
	struct creds k = {0};
	const char *tmp = fresh_node(dir, &k);
	/* A rotation that died while writing its staged key file. */
	snprintf(p, sizeof p, "%s/node.key.next.tmp.99999", dir);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs("partial", f);
	fclose(f);
	/* An erasure that committed and died before unlinking the vault:
	 * a vault file whose learner has no key row. */
	char orphan[800];
	snprintf(orphan, sizeof orphan, "%s/vaults/0123456789abcdef0123456789abcdef.db", dir);
	f = fopen(orphan, "w");
	ck_assert_ptr_nonnull(f);
	fputs("unreadable without its key", f);
	fclose(f);
	/* A vault export that died with its scratch copy on disk. */
	char scratch[800], copy[900];
	snprintf(scratch, sizeof scratch, "%s/lv-vault-export.AbC123", dir);
	ck_assert_int_eq(mkdir(scratch, 0700), 0);
	snprintf(copy, sizeof copy, "%s/vault.db", scratch);
	f = fopen(copy, "w");
	ck_assert_ptr_nonnull(f);
	fputs("copy under a lost key", f);
	fclose(f);
	struct server s;
	server_start(dir, &s);
	ck_assert_int_ne(access(p, F_OK), 0);
	ck_assert_int_ne(access(orphan, F_OK), 0);
	ck_assert_int_ne(access(scratch, F_OK), 0);
	server_stop(&s);
	ck_assert_int_eq(cli(&out, "credential list --data '%s'", dir), 0);
	free(out);
	th_rmtree(tmp);
}
END_TEST

Suite *lv_test_suite(void)
{
	Suite *s = suite_create("multiprocess");
	TCase *tc = tcase_create("live node");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, cli_writes_beside_a_live_server);
	tcase_add_test(tc, second_server_refused);
	suite_add_tcase(s, tc);
	tc = tcase_create("rotation");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, concurrent_rotations);
	suite_add_tcase(s, tc);
	tc = tcase_create("crash leftovers");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, crash_leftovers_cleaned);
	suite_add_tcase(s, tc);
	return s;
}
