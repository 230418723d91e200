-- negawatt ledger schema, version 1.
--
-- Conventions:
--   * amounts are canonical decimal strings (shopspring/decimal String()):
--     exact, never floating point; the engine does all arithmetic.
--   * instants are fixed-width UTC text "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ", so
--     text order is time order and nanoseconds survive; NULL means "none".
--   * rows are never deleted; transactions are never updated except to record
--     which transaction reversed them.

CREATE TABLE accounts (
	id         TEXT    PRIMARY KEY,
	kind       INTEGER NOT NULL,
	flags      INTEGER NOT NULL,
	currency   TEXT    NOT NULL,
	created_at TEXT    NOT NULL,
	posted     TEXT    NOT NULL, -- sum of postings, credits minus debits
	held       TEXT    NOT NULL  -- sum of open holds
) WITHOUT ROWID;

CREATE TABLE transactions (
	seq          INTEGER PRIMARY KEY, -- ledger order; gaps allowed
	key          TEXT    NOT NULL UNIQUE, -- idempotency key
	hash         BLOB    NOT NULL, -- SHA-256 of the request's canonical content
	effective_at TEXT    NOT NULL,
	posted_at    TEXT    NOT NULL,
	reverses     TEXT,
	reversed_by  TEXT,
	metadata     TEXT, -- JSON object of strings, NULL when empty
	consumed     TEXT  -- JSON [[posting, lot seq, lot posting, amount], ...]
);

CREATE TABLE postings (
	seq          INTEGER NOT NULL REFERENCES transactions (seq),
	idx          INTEGER NOT NULL,
	from_account TEXT    NOT NULL,
	to_account   TEXT    NOT NULL,
	amount       TEXT    NOT NULL,
	expires_at   TEXT,
	PRIMARY KEY (seq, idx)
) WITHOUT ROWID;

-- One row per (account, transaction touching it): history pages and award
-- sums walk an account's transactions in seq order through this table.
CREATE TABLE entries (
	account TEXT    NOT NULL,
	seq     INTEGER NOT NULL,
	PRIMARY KEY (account, seq)
) WITHOUT ROWID;

CREATE TABLE lots (
	seq        INTEGER NOT NULL, -- transaction that credited the lot
	posting    INTEGER NOT NULL, -- and its posting index
	account    TEXT    NOT NULL,
	expires_at TEXT,
	amount     TEXT    NOT NULL,
	remaining  TEXT    NOT NULL,
	expired    TEXT    NOT NULL,
	open       INTEGER NOT NULL, -- 1 while remaining > 0
	PRIMARY KEY (seq, posting)
) WITHOUT ROWID;

CREATE INDEX lots_open ON lots (account) WHERE open = 1;
CREATE INDEX lots_expiring ON lots (expires_at, seq, posting)
	WHERE open = 1 AND expires_at IS NOT NULL;

CREATE TABLE holds (
	id          TEXT    PRIMARY KEY,
	account     TEXT    NOT NULL,
	to_account  TEXT    NOT NULL,
	amount      TEXT    NOT NULL,
	deadline    TEXT    NOT NULL,
	metadata    TEXT,
	status      INTEGER NOT NULL,
	committed   TEXT    NOT NULL,
	commit_key  TEXT,
	created_at  TEXT    NOT NULL,
	resolved_at TEXT,
	hash        BLOB    NOT NULL,
	reserved    TEXT -- JSON like transactions.consumed
) WITHOUT ROWID;

CREATE INDEX holds_open ON holds (account) WHERE status = 1;
CREATE INDEX holds_deadline ON holds (deadline, id) WHERE status = 1;
