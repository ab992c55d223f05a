/* ingest: offline import through the same request validation as HTTP
 * (lv_xapi_request_validate), streamed.
 *
 * The file (a JSON array of statements, or statements one after another:
 * NDJSON) is read in 64 KiB chunks; a splitter finds each top-level
 * element's bounds by scanning with string and escape awareness (it does
 * not parse: each element is then parsed and validated alone), and
 * elements are stored in batches of at most INGEST_BATCH statements or
 * INGEST_BATCH_BYTES of text.  Memory stays bounded whatever the file's
 * size: one chunk, one batch, at most INGEST_VAULTS open vaults and a
 * node.db page cache of INGEST_INDEX_CACHE_KIB.
 *
 * Re-running after an interruption duplicates nothing: a statement with an
 * id is stored once by id; one without gets an id derived from the file
 * (provider, its position among the file's elements, its exact bytes), so
 * the same file gives the same ids again, and the store skips statements
 * it already holds with the same content (counted as duplicates). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "learnvault/door.h"
#include "cli.h"
#include "learnvault/statements.h"
#include "learnvault/store.h"
#include "learnvault/xapi.h"
#include "learnvault/util.h"

#define INGEST_CHUNK (64u << 10)
#define INGEST_ELEMENT_MAX (4u << 20)   /* bytes of one statement's text */
#define INGEST_BATCH 500
#define INGEST_BATCH_BYTES (2u << 20)
#define INGEST_VAULTS 32                /* vault handles kept open (256 KiB of cache each) */
#define INGEST_INDEX_CACHE_KIB (8u << 10) /* node.db's page cache (64 MiB by default) */
#define INGEST_REASONS 32               /* distinct rejection reasons counted */
#define INGEST_PROGRESS_S 2

int cli_ingest_text(struct lv_node *node, const char *provider_id, const char *text, size_t len,
		    cJSON **ids)
{
	*ids = NULL;
	/* A file holds JSON only: attachments must come with a fileUrl. */
	const struct lv_xapi_request req = {.json = text, .json_len = len};
	struct lv_xapi_batch batch;
	struct lv_xapi_error err;
	if (lv_xapi_request_validate(&req, &batch, &err) != LV_OK) {
		/* The request texts speak of an HTTP body; a file keeps its own
		 * words (without a statementId, "invalid" is only the shape). */
		if (strcmp(err.code, "invalid_json") == 0)
			return cli_fail("ingest: the file is not valid JSON");
		if (strcmp(err.code, "invalid") == 0)
			return cli_fail("ingest: expected a statement or an array of statements");
		return cli_fail("ingest: %s; nothing was stored", err.message);
	}
	int rc = 1;
	struct lv_principal prov = {.role = LV_ROLE_PROVIDER};
	snprintf(prov.id, sizeof prov.id, "%s", provider_id);
	char serr[LV_ERR_TEXT];
	enum lv_status s = lv_ingest(node, &prov, batch.statements, NULL, 0, serr);
	if (s != LV_OK) {
		cli_fail("ingest: %s; nothing was stored", serr);
		goto out;
	}
	*ids = cJSON_CreateArray();
	const cJSON *st;
	cJSON_ArrayForEach(st, batch.statements)
		cJSON_AddItemToArray(*ids, cJSON_CreateString(cJSON_GetObjectItemCaseSensitive(st, "id")->valuestring));
	rc = 0;
out:
	lv_xapi_batch_clear(&batch);
	return rc;
}

/* ---- the splitter ---- */

enum sp_mode { SP_START, SP_ARRAY, SP_LINES, SP_END };

struct splitter {
	FILE *f;
	unsigned char *chunk;
	size_t pos, len;
	uint64_t offset;    /* bytes consumed */
	int back;           /* a byte pushed back, -1 when none */
	enum sp_mode mode;
	bool first;         /* array: no element read yet */
	char *elem;         /* the element's text, NUL-terminated */
	size_t elen;
	bool too_large;     /* the element passed INGEST_ELEMENT_MAX and was not kept */
	char err[160];
};

static int sp_getc(struct splitter *s)
{
	int c = s->back;
	if (c >= 0) {
		s->back = -1;
		s->offset++;
		return c;
	}
	if (s->pos == s->len) {
		s->len = fread(s->chunk, 1, INGEST_CHUNK, s->f);
		s->pos = 0;
		if (s->len == 0)
			return -1;
	}
	s->offset++;
	return s->chunk[s->pos++];
}

static void sp_unget(struct splitter *s, int c)
{
	s->back = c;
	s->offset--;
}

static int sp_skip_ws(struct splitter *s)
{
	int c;
	do
		c = sp_getc(s);
	while (c == ' ' || c == '\t' || c == '\r' || c == '\n');
	return c;
}

/* Reads one element starting with @c into s->elem.  0, or -1 when the
 * file ends inside it. */
static int sp_element(struct splitter *s, int c)
{
	int depth = 0;
	bool in_str = false, esc = false, composite = c == '{' || c == '[';
	s->elen = 0;
	s->too_large = false;
	for (;; c = sp_getc(s)) {
		if (c < 0) {
			if (!composite && !in_str && s->mode == SP_LINES)
				break; /* a bare scalar at the end of the file */
			snprintf(s->err, sizeof s->err, "the file ends inside an element (byte %llu)",
				 (unsigned long long)s->offset);
			return -1;
		}
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
		} else if (!composite && depth == 0 && (c == ',' || c == ']' || c == '}' || c == ' ' || c == '\t' ||
							c == '\r' || c == '\n')) {
			sp_unget(s, c); /* the end of a scalar belongs to what follows */
			break;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		}
		if (s->elen < INGEST_ELEMENT_MAX)
			s->elem[s->elen++] = (char)c;
		else
			s->too_large = true;
		if (composite && depth == 0)
			break;
	}
	s->elem[s->elen] = '\0';
	return 0;
}

/* The next element: 1, 0 at the end, -1 on a syntax error (s->err). */
static int sp_next(struct splitter *s)
{
	int c = sp_skip_ws(s);
	if (s->mode == SP_START) {
		if (c == 0xEF && sp_getc(s) == 0xBB && sp_getc(s) == 0xBF) /* a UTF-8 byte order mark */
			c = sp_skip_ws(s);
		if (c == '[') {
			s->mode = SP_ARRAY;
			s->first = true;
			c = sp_skip_ws(s);
		} else if (c == '{') {
			s->mode = SP_LINES;
		} else {
			snprintf(s->err, sizeof s->err, c < 0 ? "the file is empty" :
				 "expected a statement, statements one per line, or an array of statements");
			return -1;
		}
	}
	if (s->mode == SP_END) {
		if (c >= 0) {
			snprintf(s->err, sizeof s->err, "data after the end of the array (byte %llu)",
				 (unsigned long long)s->offset);
			return -1;
		}
		return 0;
	}
	if (s->mode == SP_LINES)
		return c < 0 ? 0 : sp_element(s, c) == 0 ? 1 : -1;
	/* An array: an element, then ',' or ']'. */
	if (!s->first) {
		if (c == ']') {
			s->mode = SP_END;
			return sp_next(s);
		}
		if (c != ',') {
			snprintf(s->err, sizeof s->err, c < 0 ? "the array is not closed" :
				 "expected ',' or ']' between statements (byte %llu)", (unsigned long long)s->offset);
			return -1;
		}
		c = sp_skip_ws(s);
	} else if (c == ']') {
		s->mode = SP_END;
		return sp_next(s);
	}
	s->first = false;
	if (c < 0 || c == ',' || c == ']') {
		snprintf(s->err, sizeof s->err, "expected a statement (byte %llu)", (unsigned long long)s->offset);
		return -1;
	}
	return sp_element(s, c) == 0 ? 1 : -1;
}

/* ---- storing, in batches ---- */

struct ingest {
	struct lv_node *node;
	struct lv_principal prov;
	FILE *ids;                /* --ids FILE, or NULL */
	cJSON *batch;             /* validated statements waiting */
	char **texts;             /* their elements' texts (a failed batch is retried one by one) */
	uint64_t *ordinals;       /* their positions among the file's elements */
	size_t n, bytes;
	uint64_t elements, accepted, duplicates, rejected;
	cJSON *reasons;           /* reason -> count */
	uint64_t size;            /* the file's size (0: unknown) */
	time_t started, reported;
	char fatal[LV_ERR_TEXT];  /* why the run stopped, "" while it goes on */
	/* --resume FILE: where the last committed batch ended */
	const char *resume;
	cJSON *input;             /* what identifies the input file */
	uint64_t offset_now;      /* the splitter's offset after the last element read */
	const char *mode_now;     /* "array" or "lines" */
};

static void reject(struct ingest *in, const char *reason)
{
	in->rejected++;
	if (!cJSON_GetObjectItemCaseSensitive(in->reasons, reason) && cJSON_GetArraySize(in->reasons) >= INGEST_REASONS)
		reason = "other reasons";
	cJSON *c = cJSON_GetObjectItemCaseSensitive(in->reasons, reason);
	if (c)
		cJSON_SetNumberValue(c, c->valuedouble + 1);
	else
		cJSON_AddNumberToObject(in->reasons, reason, 1);
}

/* A statement without an id gets one derived from the file: the same
 * element at the same position of the same file gets the same id on
 * every run (an RFC 9562 version 8 UUID from BLAKE2b-128). */
static void derived_id(const struct ingest *in, uint64_t ordinal, const char *text, char out[UTIL_UUID_LEN])
{
	unsigned char h[16], ord[8];
	for (int i = 0; i < 8; i++)
		ord[i] = (unsigned char)(ordinal >> (8 * i));
	crypto_generichash_state s;
	crypto_generichash_init(&s, (const unsigned char *)"lv-ingest-id-v1", 15, sizeof h);
	crypto_generichash_update(&s, (const unsigned char *)in->prov.id, strlen(in->prov.id) + 1);
	crypto_generichash_update(&s, ord, sizeof ord);
	crypto_generichash_update(&s, (const unsigned char *)text, strlen(text));
	crypto_generichash_final(&s, h, sizeof h);
	h[6] = (unsigned char)((h[6] & 0x0f) | 0x80);
	h[8] = (unsigned char)((h[8] & 0x3f) | 0x80);
	snprintf(out, UTIL_UUID_LEN, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", h[0], h[1],
		 h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]);
}

/* Validates element @text alone; *@out the statement ready to store, or
 * NULL after counting the rejection. */
static void element_statement(struct ingest *in, const char *text, size_t len, uint64_t ordinal, cJSON **out)
{
	*out = NULL;
	if (text[0] != '{') {
		reject(in, "not a statement (each element must be one JSON object)");
		return;
	}
	const struct lv_xapi_request req = {.json = text, .json_len = len};
	struct lv_xapi_batch b;
	struct lv_xapi_error err;
	if (lv_xapi_request_validate(&req, &b, &err) != LV_OK) {
		const char *m = err.message;
		if (strncmp(m, "statement 0: ", 13) == 0)
			m += 13;
		reject(in, strcmp(err.code, "invalid_json") == 0 ? "not valid JSON" : m);
		return;
	}
	cJSON *st = cJSON_DetachItemFromArray(b.statements, 0);
	lv_xapi_batch_clear(&b);
	if (!cJSON_GetObjectItemCaseSensitive(st, "id")) {
		char id[UTIL_UUID_LEN];
		derived_id(in, ordinal, text, id);
		cJSON_AddStringToObject(st, "id", id);
	}
	/* The store sets "stored"; its absence afterwards tells a statement
	 * the store already held (skipped as a duplicate). */
	cJSON_DeleteItemFromObjectCaseSensitive(st, "stored");
	*out = st;
}

/* A store failure that concerns one statement (counted as a rejection)
 * rather than the node (the run stops). */
static const char *store_reason(enum lv_status st)
{
	switch (st) {
	case LV_ERR_CONFLICT: return "id already used with other content or by another provider";
	case LV_ERR_FORBIDDEN: return "actor not enrolled and auto_enrol is off";
	case LV_ERR_INVALID: return "refused by the store (e.g. voids a statement that cannot be voided)";
	case LV_ERR_TOO_LARGE: return "too large for the store";
	default: return NULL;
	}
}

static void count_stored(struct ingest *in, const cJSON *batch)
{
	const cJSON *st;
	cJSON_ArrayForEach(st, batch) {
		if (cJSON_GetObjectItemCaseSensitive(st, "stored"))
			in->accepted++;
		else
			in->duplicates++;
		if (in->ids)
			fprintf(in->ids, "%s\n", cJSON_GetObjectItemCaseSensitive(st, "id")->valuestring);
	}
}

/* Stores one statement of a batch that failed as a whole. */
static void store_alone(struct ingest *in, size_t i)
{
	cJSON *st = NULL;
	element_statement(in, in->texts[i], strlen(in->texts[i]), in->ordinals[i], &st);
	if (!st)
		return; /* cannot happen: it validated before */
	cJSON *one = cJSON_CreateArray();
	cJSON_AddItemToArray(one, st);
	char err[LV_ERR_TEXT];
	enum lv_status s = lv_ingest(in->node, &in->prov, one, NULL, 0, err);
	if (s == LV_OK)
		count_stored(in, one);
	else if (store_reason(s))
		reject(in, store_reason(s));
	else
		snprintf(in->fatal, sizeof in->fatal, "%s", err);
	cJSON_Delete(one);
}

static void progress(struct ingest *in, uint64_t offset, bool last)
{
	time_t now = time(NULL);
	if (!last && now - in->reported < INGEST_PROGRESS_S)
		return;
	in->reported = now;
	double secs = difftime(now, in->started);
	char pct[32] = "";
	if (in->size)
		snprintf(pct, sizeof pct, " (%.0f%% of the file)", 100.0 * (double)offset / (double)in->size);
	fprintf(stderr, "learnvault: ingest: %llu elements read%s, %llu stored, %llu duplicates, %llu rejected, %.0f/s\n",
		(unsigned long long)in->elements, pct, (unsigned long long)in->accepted,
		(unsigned long long)in->duplicates, (unsigned long long)in->rejected,
		secs > 0 ? (double)in->elements / secs : (double)in->elements);
}

/* Records where the run stands after a committed batch: tmp + rename,
 * so a kill leaves the old record or the new one. */
static void progress_save(struct ingest *in)
{
	if (!in->resume || in->fatal[0] || in->n == 0)
		return;
	cJSON *o = cJSON_Duplicate(in->input, true);
	cJSON_AddStringToObject(o, "mode", in->mode_now);
	cJSON_AddNumberToObject(o, "offset", (double)in->offset_now);
	cJSON_AddNumberToObject(o, "elements", (double)in->elements);
	char *t = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", in->resume);
	if (!t || util_write_file(tmp, t, strlen(t), 0600, false) != LV_OK || rename(tmp, in->resume) != 0)
		snprintf(in->fatal, sizeof in->fatal, "cannot write the progress file %s", in->resume);
	free(t);
}

static void flush(struct ingest *in)
{
	if (in->n > 0 && !in->fatal[0]) {
		char err[LV_ERR_TEXT];
		enum lv_status s = lv_ingest(in->node, &in->prov, in->batch, NULL, 0, err);
		if (s == LV_OK)
			count_stored(in, in->batch);
		else if (store_reason(s))
			for (size_t i = 0; i < in->n && !in->fatal[0]; i++)
				store_alone(in, i); /* all or nothing failed: find which */
		else
			snprintf(in->fatal, sizeof in->fatal, "%s", err);
	}
	progress_save(in);
	cJSON_Delete(in->batch);
	in->batch = cJSON_CreateArray();
	for (size_t i = 0; i < in->n; i++)
		free(in->texts[i]);
	in->n = in->bytes = 0;
}

static void add_element(struct ingest *in, const struct splitter *sp)
{
	uint64_t ordinal = in->elements++;
	if (sp->too_large) {
		reject(in, "statement larger than 4 MiB");
		return;
	}
	cJSON *st = NULL;
	element_statement(in, sp->elem, sp->elen, ordinal, &st);
	if (!st)
		return;
	char *copy = strdup(sp->elem);
	if (!copy) {
		cJSON_Delete(st);
		snprintf(in->fatal, sizeof in->fatal, "out of memory");
		return;
	}
	cJSON_AddItemToArray(in->batch, st);
	in->texts[in->n] = copy;
	in->ordinals[in->n++] = ordinal;
	in->bytes += sp->elen;
	in->offset_now = sp->offset;
	in->mode_now = sp->mode == SP_ARRAY ? "array" : "lines";
	if (in->n == INGEST_BATCH || in->bytes >= INGEST_BATCH_BYTES)
		flush(in);
}

/* Opens the node owning the vaults, with few vault handles kept: a file
 * may touch any number of learners, and each open vault keeps a page
 * cache. */
static int ingest_open(const char *dir, const char *pass_file, struct lv_node **node)
{
	struct lv_node_keysource ks = {0};
	char *pass = NULL;
	*node = NULL;
	if (!dir)
		return cli_fail("--data DIR is required");
	if (pass_file && cli_read_passphrase(pass_file, &pass, &ks.passphrase_len) != 0)
		return 1;
	ks.passphrase = pass;
	struct lv_node_options opt = {.access = LV_NODE_OWN_VAULTS, .holder = "learnvault ingest",
				      .vault_cache = INGEST_VAULTS};
	enum lv_status st = lv_node_open(dir, &ks, &opt, node);
	if (pass)
		sodium_free(pass);
	if (st == LV_ERR_IN_USE) {
		char who[LV_NODE_HOLDER_LEN];
		if (lv_node_holder(dir, who) != LV_OK)
			snprintf(who, sizeof who, "another process");
		return cli_fail("ingest: the node in %s is in use by %s, which holds the learners' vaults; nothing was "
				"changed: stop it first (a running server offers this through its HTTP API)", dir, who);
	}
	if (st != LV_OK)
		return cli_fail("cannot open the node in %s: %s", dir, lv_status_str(st));
	if ((st = lv_store_cache_limit(*node, INGEST_INDEX_CACHE_KIB)) != LV_OK) {
		lv_node_close(*node);
		*node = NULL;
		return cli_fail("ingest: cannot set the index cache: %s", lv_status_str(st));
	}
	return 0;
}

/* With --resume: continues where the progress file says the last run's
 * last committed batch ended, if it was made for this same input.  0, or
 * 1 with in->fatal set. */
static int resume_load(struct ingest *in, struct splitter *sp)
{
	char *text = NULL;
	if (util_read_file(in->resume, 65536, &text, NULL) != LV_OK)
		return 0; /* none yet: from the start */
	cJSON *o = cJSON_Parse(text);
	free(text);
	bool same = o != NULL;
	const cJSON *want;
	cJSON_ArrayForEach(want, in->input)
		same = same && cJSON_Compare(want, cJSON_GetObjectItemCaseSensitive(o, want->string), true);
	const cJSON *mode = cJSON_GetObjectItemCaseSensitive(o, "mode");
	const cJSON *off = cJSON_GetObjectItemCaseSensitive(o, "offset");
	const cJSON *el = cJSON_GetObjectItemCaseSensitive(o, "elements");
	int rc = 0;
	if (!same || !cJSON_IsString(mode) || !cJSON_IsNumber(off) || !cJSON_IsNumber(el) || off->valuedouble < 1 ||
	    off->valuedouble > (double)in->size) {
		fprintf(stderr, "learnvault: ingest: %s was made for another file (or that file changed): starting "
				"from the beginning (nothing is stored twice)\n", in->resume);
	} else if (fseeko(sp->f, (off_t)off->valuedouble, SEEK_SET) != 0) {
		snprintf(in->fatal, sizeof in->fatal, "cannot seek in the input");
		rc = 1;
	} else {
		sp->offset = (uint64_t)off->valuedouble;
		sp->mode = strcmp(mode->valuestring, "array") == 0 ? SP_ARRAY : SP_LINES;
		sp->first = false;
		in->elements = (uint64_t)el->valuedouble;
		fprintf(stderr, "learnvault: ingest: resuming after element %llu (byte %llu)\n",
			(unsigned long long)in->elements, (unsigned long long)sp->offset);
	}
	cJSON_Delete(o);
	return rc;
}

/* Reads every element of @f; 0 when the file was read to its end. */
static int ingest_stream(struct ingest *in, FILE *f)
{
	struct splitter sp = {.f = f, .back = -1, .chunk = malloc(INGEST_CHUNK), .elem = malloc(INGEST_ELEMENT_MAX + 1)};
	int rc = 1, r = 0;
	if (!sp.chunk || !sp.elem) {
		snprintf(in->fatal, sizeof in->fatal, "out of memory");
		goto out;
	}
	if (in->resume && resume_load(in, &sp) != 0)
		goto out;
	while (!in->fatal[0] && (r = sp_next(&sp)) == 1) {
		add_element(in, &sp);
		progress(in, sp.offset, false);
	}
	flush(in);
	if (r < 0 && !in->fatal[0])
		snprintf(in->fatal, sizeof in->fatal, "%s", sp.err);
	progress(in, sp.offset, true);
	rc = in->fatal[0] ? 1 : 0;
out:
	free(sp.chunk);
	free(sp.elem);
	return rc;
}

/* The one-line summary on stderr, with the rejection reasons counted. */
static void summary_line(const struct ingest *in)
{
	fprintf(stderr, "learnvault: ingest: %llu stored, %llu duplicates (already stored), %llu rejected",
		(unsigned long long)in->accepted, (unsigned long long)in->duplicates, (unsigned long long)in->rejected);
	const char *sep = ": ";
	const cJSON *r;
	cJSON_ArrayForEach(r, in->reasons) {
		fprintf(stderr, "%s%s (%.0f)", sep, r->string, r->valuedouble);
		sep = "; ";
	}
	fprintf(stderr, "%s\n", in->accepted + in->duplicates == 0 ? "; nothing was stored" : "");
}

/* The summary on stderr and the JSON object on stdout; @complete: the
 * input was read to its end. */
static void ingest_report(struct ingest *in, bool complete)
{
	summary_line(in);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "elements", (double)in->elements);
	cJSON_AddNumberToObject(o, "accepted", (double)in->accepted);
	cJSON_AddNumberToObject(o, "duplicates", (double)in->duplicates);
	cJSON_AddNumberToObject(o, "rejected", (double)in->rejected);
	cJSON_AddItemToObject(o, "reasons", in->reasons);
	in->reasons = NULL;
	cJSON_AddBoolToObject(o, "complete", complete);
	cli_print(o);
}

#define INGEST_USAGE "ingest --data DIR [--provider ID] [--ids FILE] [--resume PROGRESS_FILE] FILE.json|FILE.ndjson|-"

int cmd_ingest(int argc, char **argv)
{
	const char *dir = NULL, *pass_file = NULL, *provider = "local-ingest", *ids_file = NULL, *resume = NULL;
	const struct cli_opt opts[] = {
		{"data", true, &dir},
		{"passphrase-file", true, &pass_file},
		{"provider", true, &provider},
		{"ids", true, &ids_file},
		{"resume", true, &resume},
		{0, false, NULL}};
	if (cli_parse(argc, argv, 1, opts) < 0)
		return 2;
	if (optind + 1 != argc)
		return cli_fail(INGEST_USAGE) + 1;
	if (strlen(provider) >= LV_CRED_ID_LEN)
		return cli_fail("ingest: --provider is a credential id (at most %d characters)", LV_CRED_ID_LEN - 1);
	const char *path = argv[optind];
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f)
		return cli_fail("ingest: cannot read %s", path);
	struct ingest in = {.reasons = cJSON_CreateObject(), .batch = cJSON_CreateArray(), .started = time(NULL),
			    .texts = calloc(INGEST_BATCH, sizeof(char *)), .ordinals = calloc(INGEST_BATCH, sizeof(uint64_t))};
	in.reported = in.started;
	in.prov.role = LV_ROLE_PROVIDER;
	snprintf(in.prov.id, sizeof in.prov.id, "%s", provider);
	struct stat sb;
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
		in.size = (uint64_t)sb.st_size;
	int rc = 1;
	if (resume && !in.size) {
		cli_fail("ingest: --resume needs a regular file to read (not a pipe)");
		goto out;
	}
	in.resume = resume;
	in.input = cJSON_CreateObject();
	cJSON_AddStringToObject(in.input, "format", "learnvault-ingest-progress");
	cJSON_AddNumberToObject(in.input, "version", 1);
	cJSON_AddStringToObject(in.input, "provider", provider);
	cJSON_AddNumberToObject(in.input, "size", (double)in.size);
	cJSON_AddNumberToObject(in.input, "mtime_ns", (double)sb.st_mtim.tv_sec * 1e9 + (double)sb.st_mtim.tv_nsec);
	if (!in.texts || !in.ordinals) {
		cli_fail("ingest: out of memory");
		goto out;
	}
	if (ids_file && !(in.ids = fopen(ids_file, "w"))) {
		cli_fail("ingest: cannot write %s", ids_file);
		goto out;
	}
	if (ingest_open(dir, pass_file, &in.node) != 0)
		goto out;
	rc = ingest_stream(&in, f);
	lv_node_close(in.node);
	if (rc == 0 && resume)
		unlink(resume); /* done: a later run starts afresh */
	if (in.ids && fclose(in.ids) != 0 && rc == 0)
		rc = cli_fail("ingest: cannot write %s", ids_file);
	in.ids = NULL;
	if (rc != 0)
		cli_fail("ingest: stopped: %s; the statements counted as stored are stored: run the same command "
			 "again to go on (nothing is stored twice)", in.fatal);
	ingest_report(&in, rc == 0);
	if (rc == 0 && in.rejected > 0)
		rc = 1; /* a script must notice what was left out */
out:
	if (in.ids)
		fclose(in.ids);
	if (f != stdin)
		fclose(f);
	cJSON_Delete(in.reasons);
	cJSON_Delete(in.batch);
	cJSON_Delete(in.input);
	free(in.texts);
	free(in.ordinals);
	return rc;
}
