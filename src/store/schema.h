/* node.db and vault schemas (version 1). */
#ifndef LV_STORE_SCHEMA_H
#define LV_STORE_SCHEMA_H

#define NODE_SCHEMA_VERSION "1"

static const char NODE_SCHEMA[] =
	"CREATE TABLE meta(k TEXT PRIMARY KEY, v BLOB NOT NULL);"
	"CREATE TABLE settings(name TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE learners(pseudonym TEXT PRIMARY KEY, wrapped_key BLOB NOT NULL,"
	" kind TEXT NOT NULL, created INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE credentials(id TEXT PRIMARY KEY, role TEXT NOT NULL, secret_hash BLOB NOT NULL,"
	" learner TEXT, purposes TEXT, label TEXT, created INTEGER NOT NULL, revoked INTEGER);"
	/* The statement index: which vault holds a statement, and what the
	 * xAPI GET filters need.  Agents appear only as pseudonyms. */
	/* ref: the id of the statement this one's object refers to (voiding
	 * statements included), for the StatementRef filter rule. */
	"CREATE TABLE statements(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE COLLATE NOCASE,"
	" learner TEXT NOT NULL, provider TEXT NOT NULL, verb TEXT NOT NULL,"
	" registration TEXT COLLATE NOCASE, stored INTEGER NOT NULL,"
	" voided INTEGER NOT NULL DEFAULT 0, voids TEXT COLLATE NOCASE, ref TEXT COLLATE NOCASE);"
	"CREATE INDEX statements_ref ON statements(ref) WHERE ref IS NOT NULL;"
	"CREATE TABLE statement_keys(key TEXT NOT NULL, kind INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" PRIMARY KEY(key, kind, seq)) WITHOUT ROWID;"
	"CREATE TABLE activities(id TEXT PRIMARY KEY, definition TEXT) WITHOUT ROWID;"
	"CREATE TABLE documents(provider TEXT NOT NULL, kind INTEGER NOT NULL, scope TEXT NOT NULL,"
	" doc_id TEXT NOT NULL, content_type TEXT NOT NULL, body BLOB NOT NULL, etag TEXT NOT NULL,"
	" updated INTEGER NOT NULL, PRIMARY KEY(provider, kind, scope, doc_id)) WITHOUT ROWID;";

/* Tables added after version 1: created on every open if missing, so
 * older nodes gain them without a separate migration step. */
static const char NODE_SCHEMA_ADDITIONS[] =
	"CREATE TABLE IF NOT EXISTS policies(id TEXT NOT NULL, version INTEGER NOT NULL,"
	" sha256 TEXT NOT NULL, text TEXT NOT NULL, loaded INTEGER NOT NULL,"
	" PRIMARY KEY(id, version)) WITHOUT ROWID;"
	/* The audit log: entry text is the Merkle leaf data. */
	"CREATE TABLE IF NOT EXISTS audit_log(idx INTEGER PRIMARY KEY, entry TEXT NOT NULL,"
	" leaf BLOB NOT NULL, subject TEXT);"
	"CREATE INDEX IF NOT EXISTS audit_log_subject ON audit_log(subject, idx) WHERE subject IS NOT NULL;"
	/* The entries about no learner (releases among them), for the
	 * learner's access report: the release an aggregate access belongs to
	 * is the first of these after it (lv_audit_report).  Created on open
	 * for older nodes too. */
	"CREATE INDEX IF NOT EXISTS audit_log_unsubjected ON audit_log(idx) WHERE subject IS NULL;"
	/* The Merkle tree's nodes above the leaves (audit_log.leaf), keyed
	 * level << 56 | index: written with the entries, so opening a node
	 * reads O(log n) of them instead of rebuilding the tree. */
	"CREATE TABLE IF NOT EXISTS audit_tree(id INTEGER PRIMARY KEY, hash BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS audit_checkpoints(size INTEGER PRIMARY KEY, note TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS learner_info(pseudonym TEXT PRIMARY KEY, birth_date TEXT) WITHOUT ROWID;"
	/* The consent ledger: immutable events, newest last per learner. */
	"CREATE TABLE IF NOT EXISTS consent_events(seq INTEGER PRIMARY KEY, record_id TEXT NOT NULL UNIQUE,"
	" learner TEXT NOT NULL, policy_id TEXT NOT NULL, policy_version INTEGER NOT NULL,"
	" policy_sha256 TEXT NOT NULL, event TEXT NOT NULL, actor_role TEXT NOT NULL, actor TEXT NOT NULL,"
	" time INTEGER NOT NULL, valid_until INTEGER, supersedes TEXT, details TEXT);"
	"CREATE INDEX IF NOT EXISTS consent_events_learner ON consent_events(learner, policy_id, seq);"
	/* Aggregate facts (store/facts.c): sealed per learner; IRIs as terms. */
	"CREATE TABLE IF NOT EXISTS terms(id INTEGER PRIMARY KEY, iri TEXT NOT NULL UNIQUE);"
	/* Rows are appended (rowid order): a batch touching many learners
	 * writes new pages at the end, and only the small index entries land
	 * at random positions. */
	"CREATE TABLE IF NOT EXISTS learner_facts(id INTEGER PRIMARY KEY, learner TEXT NOT NULL,"
	" seg INTEGER NOT NULL, data BLOB NOT NULL);"
	"CREATE UNIQUE INDEX IF NOT EXISTS learner_facts_learner ON learner_facts(learner, seg);"
	/* New segments land here first (appended, unindexed) and are folded
	 * into learner_facts by the next aggregate read (store/facts.c). */
	"CREATE TABLE IF NOT EXISTS facts_journal(id INTEGER PRIMARY KEY AUTOINCREMENT, learner TEXT NOT NULL,"
	" data BLOB NOT NULL);"
	/* The privacy budget (dp/budget.c): micro-epsilon spent per purpose,
	 * learner and day; and every release, cached by (actor, query id). */
	"CREATE TABLE IF NOT EXISTS dp_spend(purpose TEXT NOT NULL, learner TEXT NOT NULL, day INTEGER NOT NULL,"
	" micro_eps INTEGER NOT NULL, PRIMARY KEY(purpose, learner, day)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS dp_releases(actor TEXT NOT NULL, query_id TEXT NOT NULL, purpose TEXT NOT NULL,"
	" request_sha256 TEXT NOT NULL, day INTEGER NOT NULL, micro_eps INTEGER NOT NULL, answer TEXT NOT NULL,"
	" created INTEGER NOT NULL, PRIMARY KEY(actor, query_id)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS dp_releases_purpose ON dp_releases(purpose, day);"
	/* Federation (query/federate.c): the DAP tasks this node serves (the
	 * task file as added, canonical JSON); which learners were uploaded
	 * for a task in a batch interval (kept across erasure, like dp_spend,
	 * so re-enrolment does not upload a learner twice); and the outbox of
	 * sealed reports committed with their audit entries and not yet
	 * accepted by the Leader (HPKE ciphertexts only: no learner column). */
	"CREATE TABLE IF NOT EXISTS fed_tasks(task_id TEXT PRIMARY KEY, spec TEXT NOT NULL,"
	" added INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS fed_uploads(task_id TEXT NOT NULL, interval INTEGER NOT NULL,"
	" learner TEXT NOT NULL, PRIMARY KEY(task_id, interval, learner)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS fed_outbox(id INTEGER PRIMARY KEY, task_id TEXT NOT NULL,"
	" report BLOB NOT NULL, created INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS fed_outbox_task ON fed_outbox(task_id, id);"
	/* personal/state.c: a learner's voided statements, to notice that
	 * their model state must be rebuilt (a short range per learner). */
	"CREATE INDEX IF NOT EXISTS statements_voided ON statements(learner) WHERE voided = 1;";

/* A learner's vault: everything that is the learner's own. */
static const char VAULT_SCHEMA[] =
	/* Keyed by the node's index sequence number: one B-tree, so a
	 * statement costs one page write. */
	"CREATE TABLE IF NOT EXISTS statements(seq INTEGER PRIMARY KEY, body TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS attachments(sha2 TEXT PRIMARY KEY, content_type TEXT NOT NULL,"
	" body BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS documents(provider TEXT NOT NULL, kind INTEGER NOT NULL,"
	" scope TEXT NOT NULL, doc_id TEXT NOT NULL, content_type TEXT NOT NULL, body BLOB NOT NULL,"
	" etag TEXT NOT NULL, updated INTEGER NOT NULL,"
	" PRIMARY KEY(provider, kind, scope, doc_id)) WITHOUT ROWID;";

/* Vault tables added later: created on every vault open if missing.  The
 * learner's model state (personal/state.c): Elo ability and bookkeeping,
 * FSRS memory and Elo difficulty per activity, BKT P(known) per skill. */
static const char VAULT_SCHEMA_ADDITIONS[] =
	/* Which providers sent each attachment body (issue 13): a provider
	 * gets back only bodies it sent itself, not another provider's that
	 * its statement names by hash.  Bodies stored before this table have
	 * no owner rows and stay served as before. */
	"CREATE TABLE IF NOT EXISTS attachment_owners(sha2 TEXT NOT NULL, provider TEXT NOT NULL,"
	" PRIMARY KEY(sha2, provider)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS personal_learner(id INTEGER PRIMARY KEY CHECK(id = 1), theta REAL NOT NULL,"
	" answers INTEGER NOT NULL, last_seq INTEGER NOT NULL, config TEXT NOT NULL, voided INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS personal_items(activity TEXT PRIMARY KEY, stability REAL, difficulty REAL,"
	" last_review INTEGER, reviews INTEGER NOT NULL, lapses INTEGER NOT NULL, last_grade INTEGER NOT NULL,"
	" b REAL NOT NULL, answers INTEGER NOT NULL, skills TEXT) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS personal_skills(skill TEXT PRIMARY KEY, known REAL NOT NULL,"
	" responses INTEGER NOT NULL, correct INTEGER NOT NULL, updated INTEGER NOT NULL) WITHOUT ROWID;";

#endif
