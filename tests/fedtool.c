/* fedtool: learnvault's C federation functions byte-in/byte-out on the
 * command line, for the cross-checks against the npm packages
 * (tests/federation/crosscheck.mjs, driven by tests/test-fednpm.c).  A test
 * program only: built by tests/meson.build, never installed.  Every byte
 * string is hex in and out; each command prints one JSON object on stdout
 * and exits 0, or prints the reason on stderr and exits 1 (2 for usage).
 *
 *   fedtool shard VDAFJSON MEAS NONCEHEX RANDHEX
 *       -> {"public_share", "input_shares": [leader, helper]}
 *       VDAFJSON: {"type": "Prio3Count"|"Prio3Sum"|"Prio3SumVec"|
 *       "Prio3Histogram", "bits", "length", "chunk_length"}; MEAS: an
 *       integer, or a JSON list of integers for Prio3SumVec.
 *   fedtool hpke-keygen -> {"sk", "pk"}
 *   fedtool hpke-seal PKHEX INFOHEX AADHEX PTHEX [EPHSKHEX] -> {"enc", "ct"}
 *   fedtool hpke-open SKHEX ENCHEX INFOHEX AADHEX CTHEX -> {"pt"}
 *   fedtool report TASKID REPORTIDHEX TIME PUBLICSHAREHEX LEADERSHAREHEX
 *       HELPERSHAREHEX LEADERCONFIGLISTHEX HELPERCONFIGLISTHEX -> {"report"}
 *       TASKID in base64url; the config lists as an aggregator serves them.
 *   fedtool report-open SKHEX leader|helper TASKID REPORTHEX
 *       -> {"report_id", "time", "config_id", "public_share", "input_share"}
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "federation/dap.h"
#include "federation/hpke.h"
#include "federation/prio3.h"
#include "learnvault/util.h"

#define MAX_BYTES ((size_t)16 << 20)
#define MAX_MEAS 100000

static int fail(const char *what, enum lv_status st)
{
	fprintf(stderr, "fedtool: %s: %s\n", what, st == LV_OK ? "invalid" : lv_status_str(st));
	return 1;
}

/* Decodes the hex argument @s into *@out (malloc'd, sodium_malloc'd when
 * @secret); false for bad hex or over MAX_BYTES. */
static bool unhex(const char *s, uint8_t **out, size_t *len, bool secret)
{
	size_t n = strlen(s);
	*out = NULL;
	*len = 0;
	if (n % 2 || n / 2 > MAX_BYTES)
		return false;
	uint8_t *b = secret ? sodium_malloc(n / 2 + 1) : malloc(n / 2 + 1);
	if (!b)
		return false;
	const char *end = NULL;
	if (sodium_hex2bin(b, n / 2 + 1, s, n, NULL, len, &end) != 0 || *end != '\0' || *len != n / 2) {
		secret ? sodium_free(b) : free(b);
		return false;
	}
	*out = b;
	return true;
}

/* unhex of exactly @n bytes into @out. */
static bool unhex_fixed(const char *s, uint8_t *out, size_t n)
{
	size_t len = 0;
	const char *end = NULL;
	return strlen(s) == 2 * n && sodium_hex2bin(out, n, s, 2 * n, NULL, &len, &end) == 0 && *end == '\0' &&
	       len == n;
}

static void print_hex_field(const char *name, const void *p, size_t n, bool last)
{
	char *h = malloc(2 * n + 1);
	if (!h) {
		fprintf(stderr, "fedtool: out of memory\n");
		exit(1);
	}
	sodium_bin2hex(h, 2 * n + 1, p, n);
	printf("\"%s\":\"%s\"%s", name, h, last ? "}\n" : ",");
	free(h);
}

static bool parse_params(const char *json, struct fed_prio3_params *p)
{
	cJSON *j = cJSON_Parse(json);
	bool ok = false;
	memset(p, 0, sizeof *p);
	p->num_shares = 2;
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
	if (!cJSON_IsString(t))
		goto out;
	static const struct {
		const char *name;
		enum fed_prio3_kind kind;
	} kinds[] = {{"Prio3Count", FED_PRIO3_COUNT},
		     {"Prio3Sum", FED_PRIO3_SUM},
		     {"Prio3SumVec", FED_PRIO3_SUMVEC},
		     {"Prio3Histogram", FED_PRIO3_HISTOGRAM}};
	size_t k = 0;
	while (k < sizeof kinds / sizeof kinds[0] && strcmp(kinds[k].name, t->valuestring) != 0)
		k++;
	if (k == sizeof kinds / sizeof kinds[0])
		goto out;
	p->kind = kinds[k].kind;
	const char *names[] = {"bits", "length", "chunk_length"};
	uint32_t *fields[] = {&p->bits, &p->length, &p->chunk_length};
	for (size_t i = 0; i < 3; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, names[i]);
		if (v && (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > UINT32_MAX))
			goto out;
		*fields[i] = v ? (uint32_t)v->valuedouble : 0;
	}
	ok = true;
out:
	cJSON_Delete(j);
	return ok;
}

/* MEAS: one integer, or a JSON list of them. */
static bool parse_meas(const char *s, uint64_t **meas, size_t *n)
{
	*meas = NULL;
	*n = 0;
	cJSON *j = cJSON_Parse(s);
	bool ok = false;
	if (!j)
		return false;
	size_t count = cJSON_IsArray(j) ? (size_t)cJSON_GetArraySize(j) : 1;
	if (count > MAX_MEAS || !(*meas = calloc(count ? count : 1, sizeof **meas)))
		goto out;
	for (size_t i = 0; i < count; i++) {
		const cJSON *v = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, (int)i) : j;
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740991.0)
			goto out;
		(*meas)[i] = (uint64_t)v->valuedouble;
	}
	*n = count;
	ok = true;
out:
	if (!ok) {
		free(*meas);
		*meas = NULL;
	}
	cJSON_Delete(j);
	return ok;
}

static int cmd_shard(char **argv)
{
	struct fed_prio3_params params;
	struct fed_prio3 *v = NULL;
	uint64_t *meas = NULL;
	size_t meas_len = 0, rand_len = 0;
	uint8_t nonce[16], *rand = NULL;
	struct buf pub, shares[2];
	int rc = 1;
	buf_init(&pub, MAX_BYTES);
	buf_init(&shares[0], MAX_BYTES);
	buf_init(&shares[1], MAX_BYTES);
	if (!parse_params(argv[0], &params) || !parse_meas(argv[1], &meas, &meas_len) ||
	    !unhex_fixed(argv[2], nonce, sizeof nonce) || !unhex(argv[3], &rand, &rand_len, true)) {
		fprintf(stderr, "fedtool shard: bad VDAFJSON, MEAS, NONCEHEX or RANDHEX\n");
		goto out;
	}
	enum lv_status st = fed_prio3_create(&params, &v);
	if (st != LV_OK) {
		rc = fail("prio3_create", st);
		goto out;
	}
	st = fed_prio3_shard(v, meas, meas_len, nonce, rand, rand_len, &pub, shares);
	if (st != LV_OK) {
		rc = fail("prio3_shard", st);
		goto out;
	}
	printf("{");
	print_hex_field("public_share", pub.data, pub.len, false);
	char *h0 = malloc(2 * shares[0].len + 1), *h1 = malloc(2 * shares[1].len + 1);
	if (h0 && h1) {
		sodium_bin2hex(h0, 2 * shares[0].len + 1, (const uint8_t *)shares[0].data, shares[0].len);
		sodium_bin2hex(h1, 2 * shares[1].len + 1, (const uint8_t *)shares[1].data, shares[1].len);
		printf("\"input_shares\":[\"%s\",\"%s\"]}\n", h0, h1);
		rc = 0;
	}
	free(h0);
	free(h1);
out:
	if (shares[0].data) /* the leader's share holds the measurement's share in the clear */
		sodium_memzero(shares[0].data, shares[0].len);
	buf_free(&pub);
	buf_free(&shares[0]);
	buf_free(&shares[1]);
	if (rand)
		sodium_free(rand);
	free(meas);
	fed_prio3_destroy(v);
	return rc;
}

static int cmd_hpke_keygen(void)
{
	uint8_t *sk = sodium_malloc(FED_HPKE_NSK), pk[FED_HPKE_NPK];
	if (!sk)
		return fail("hpke-keygen", LV_ERR_NOMEM);
	enum lv_status st = fed_hpke_keygen(sk, pk);
	if (st == LV_OK) {
		printf("{");
		print_hex_field("sk", sk, FED_HPKE_NSK, false);
		print_hex_field("pk", pk, FED_HPKE_NPK, true);
	}
	sodium_free(sk);
	return st == LV_OK ? 0 : fail("hpke-keygen", st);
}

static int cmd_hpke_seal(int argc, char **argv)
{
	uint8_t pk[FED_HPKE_NPK], enc[FED_HPKE_NENC], *info = NULL, *aad = NULL, *pt = NULL, *eph = NULL;
	size_t info_len, aad_len, pt_len, eph_len = 0;
	struct buf ct;
	int rc = 1;
	buf_init(&ct, MAX_BYTES + 64);
	if (!unhex_fixed(argv[0], pk, sizeof pk) || !unhex(argv[1], &info, &info_len, false) ||
	    !unhex(argv[2], &aad, &aad_len, false) || !unhex(argv[3], &pt, &pt_len, false) ||
	    (argc > 4 && (!unhex(argv[4], &eph, &eph_len, true) || eph_len != FED_HPKE_NSK))) {
		fprintf(stderr, "fedtool hpke-seal: bad hex argument\n");
		goto out;
	}
	enum lv_status st = eph ? fed_hpke_seal_eph(pk, eph, info, info_len, aad, aad_len, pt, pt_len, enc, &ct)
				: fed_hpke_seal(pk, info, info_len, aad, aad_len, pt, pt_len, enc, &ct);
	if (st != LV_OK) {
		rc = fail("hpke-seal", st);
		goto out;
	}
	printf("{");
	print_hex_field("enc", enc, sizeof enc, false);
	print_hex_field("ct", ct.data, ct.len, true);
	rc = 0;
out:
	buf_free(&ct);
	free(info);
	free(aad);
	free(pt);
	if (eph)
		sodium_free(eph);
	return rc;
}

static int cmd_hpke_open(char **argv)
{
	uint8_t *sk = sodium_malloc(FED_HPKE_NSK), enc[FED_HPKE_NENC], *info = NULL, *aad = NULL, *ct = NULL;
	size_t info_len, aad_len, ct_len;
	struct buf pt;
	int rc = 1;
	buf_init(&pt, MAX_BYTES);
	if (!sk || !unhex_fixed(argv[0], sk, FED_HPKE_NSK) || !unhex_fixed(argv[1], enc, sizeof enc) ||
	    !unhex(argv[2], &info, &info_len, false) || !unhex(argv[3], &aad, &aad_len, false) ||
	    !unhex(argv[4], &ct, &ct_len, false)) {
		fprintf(stderr, "fedtool hpke-open: bad hex argument\n");
		goto out;
	}
	enum lv_status st = fed_hpke_open(sk, enc, info, info_len, aad, aad_len, ct, ct_len, &pt);
	if (st != LV_OK) {
		rc = fail("hpke-open", st);
		goto out;
	}
	printf("{");
	print_hex_field("pt", pt.data, pt.len, true);
	rc = 0;
out:
	if (pt.data)
		sodium_memzero(pt.data, pt.len);
	buf_free(&pt);
	if (sk)
		sodium_free(sk);
	free(info);
	free(aad);
	free(ct);
	return rc;
}

static bool task_id_arg(const char *s, uint8_t id[FED_DAP_TASK_ID_LEN])
{
	size_t len = 0;
	const char *end = NULL;
	return sodium_base642bin(id, FED_DAP_TASK_ID_LEN, s, strlen(s), NULL, &len, &end,
				 sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0 &&
	       *end == '\0' && len == FED_DAP_TASK_ID_LEN;
}

static int cmd_report(char **argv)
{
	uint8_t task_id[FED_DAP_TASK_ID_LEN], report_id[FED_DAP_REPORT_ID_LEN];
	uint8_t *bytes[5] = {NULL};
	size_t lens[5] = {0};
	struct fed_hpke_config_list *lists[2] = {NULL};
	const struct fed_hpke_config *cfg[2] = {NULL};
	struct buf report;
	char *endp = NULL;
	int rc = 1;
	buf_init(&report, FED_DAP_MAX_REPORT);
	unsigned long long t = strtoull(argv[2], &endp, 10);
	bool ok = task_id_arg(argv[0], task_id) && unhex_fixed(argv[1], report_id, sizeof report_id) &&
		  *argv[2] && *endp == '\0';
	for (int i = 0; ok && i < 5; i++) /* public share, leader share, helper share, the two lists */
		ok = unhex(argv[3 + i], &bytes[i], &lens[i], i == 1 || i == 2);
	if (!ok) {
		fprintf(stderr, "fedtool report: bad TASKID, REPORTIDHEX, TIME or hex argument\n");
		goto out;
	}
	enum lv_status st = LV_OK;
	for (int i = 0; st == LV_OK && i < 2; i++) {
		st = fed_dap_hpke_config_list_decode(bytes[3 + i], lens[3 + i], &lists[i]);
		if (st == LV_OK)
			st = fed_dap_hpke_config_select(lists[i], &cfg[i]);
	}
	if (st != LV_OK) {
		rc = fail("config list", st);
		goto out;
	}
	struct fed_dap_report_input in = {
		.task_id = task_id, .report_id = report_id, .time = (uint64_t)t,
		.public_share = bytes[0], .public_share_len = lens[0],
		.leader_share = bytes[1], .leader_share_len = lens[1],
		.helper_share = bytes[2], .helper_share_len = lens[2],
		.leader_config = cfg[0], .helper_config = cfg[1],
	};
	st = fed_dap_report_build(&in, &report);
	if (st != LV_OK) {
		rc = fail("report_build", st);
		goto out;
	}
	printf("{");
	print_hex_field("report", report.data, report.len, true);
	rc = 0;
out:
	buf_free(&report);
	for (int i = 0; i < 2; i++)
		fed_dap_hpke_config_list_free(lists[i]);
	for (int i = 0; i < 5; i++) {
		if (i == 1 || i == 2) {
			if (bytes[i])
				sodium_free(bytes[i]);
		} else {
			free(bytes[i]);
		}
	}
	return rc;
}

static int cmd_report_open(char **argv)
{
	uint8_t *sk = sodium_malloc(FED_HPKE_NSK), task_id[FED_DAP_TASK_ID_LEN], *bytes = NULL;
	size_t len = 0;
	struct fed_dap_report r;
	struct buf share;
	int rc = 1;
	buf_init(&share, FED_DAP_MAX_SHARE);
	bool leader = strcmp(argv[1], "leader") == 0;
	if (!sk || !unhex_fixed(argv[0], sk, FED_HPKE_NSK) || (!leader && strcmp(argv[1], "helper") != 0) ||
	    !task_id_arg(argv[2], task_id) || !unhex(argv[3], &bytes, &len, false)) {
		fprintf(stderr, "fedtool report-open: bad SKHEX, ROLE, TASKID or REPORTHEX\n");
		goto out;
	}
	enum lv_status st = fed_dap_report_decode(bytes, len, &r);
	if (st != LV_OK) {
		rc = fail("report_decode", st);
		goto out;
	}
	const struct fed_dap_ciphertext *c = leader ? &r.leader : &r.helper;
	st = fed_dap_report_open_share(&r, task_id, leader ? FED_DAP_ROLE_LEADER : FED_DAP_ROLE_HELPER, c->config_id,
				       sk, &share);
	if (st != LV_OK) {
		rc = fail("report_open_share", st);
		goto out;
	}
	printf("{");
	print_hex_field("report_id", r.report_id, sizeof r.report_id, false);
	printf("\"time\":%" PRIu64 ",\"config_id\":%u,", r.time, (unsigned)c->config_id);
	print_hex_field("public_share", r.public_share, r.public_share_len, false);
	print_hex_field("input_share", share.data, share.len, true);
	rc = 0;
out:
	if (share.data)
		sodium_memzero(share.data, share.len);
	buf_free(&share);
	if (sk)
		sodium_free(sk);
	free(bytes);
	return rc;
}

int main(int argc, char **argv)
{
	static const char usage[] =
		"usage: fedtool shard VDAFJSON MEAS NONCEHEX RANDHEX\n"
		"       fedtool hpke-keygen\n"
		"       fedtool hpke-seal PKHEX INFOHEX AADHEX PTHEX [EPHSKHEX]\n"
		"       fedtool hpke-open SKHEX ENCHEX INFOHEX AADHEX CTHEX\n"
		"       fedtool report TASKID REPORTIDHEX TIME PUBLICSHAREHEX LEADERSHAREHEX HELPERSHAREHEX\n"
		"                      LEADERCONFIGLISTHEX HELPERCONFIGLISTHEX\n"
		"       fedtool report-open SKHEX leader|helper TASKID REPORTHEX\n";
	if (sodium_init() < 0)
		return 1;
	const char *cmd = argc > 1 ? argv[1] : "";
	int n = argc - 2;
	if (strcmp(cmd, "shard") == 0 && n == 4)
		return cmd_shard(argv + 2);
	if (strcmp(cmd, "hpke-keygen") == 0 && n == 0)
		return cmd_hpke_keygen();
	if (strcmp(cmd, "hpke-seal") == 0 && (n == 4 || n == 5))
		return cmd_hpke_seal(n, argv + 2);
	if (strcmp(cmd, "hpke-open") == 0 && n == 5)
		return cmd_hpke_open(argv + 2);
	if (strcmp(cmd, "report") == 0 && n == 8)
		return cmd_report(argv + 2);
	if (strcmp(cmd, "report-open") == 0 && n == 4)
		return cmd_report_open(argv + 2);
	fputs(usage, stderr);
	return 2;
}
