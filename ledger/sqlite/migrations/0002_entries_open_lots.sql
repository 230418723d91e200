-- negawatt ledger schema, version 2: one account-ordered tree.
--
-- Version 1 kept two account-ordered B-trees, entries (account, seq) for
-- history and the partial index lots_open (account) for the lots a debit
-- consumes. A batch of awards to N customers dirtied about N pages in each
-- (every page is written to the WAL and fsynced at commit). Version 2 keeps
-- both kinds of row in entries, keyed (account, kind, seq, posting), so an
-- account's history rows and open-lot rows share its pages:
--   kind 0: transaction seq touched the account (posting is 0);
--   kind 1: lot (seq, posting) of the account is open (lots.open = 1).
-- Kind 1 rows are maintained with lots.open: inserted when a lot opens,
-- deleted when it closes.

CREATE TABLE entries_v2 (
	account TEXT    NOT NULL,
	kind    INTEGER NOT NULL,
	seq     INTEGER NOT NULL,
	posting INTEGER NOT NULL,
	PRIMARY KEY (account, kind, seq, posting)
) WITHOUT ROWID;

INSERT INTO entries_v2 (account, kind, seq, posting)
	SELECT account, 0, seq, 0 FROM entries;
INSERT INTO entries_v2 (account, kind, seq, posting)
	SELECT account, 1, seq, posting FROM lots WHERE open = 1;

DROP INDEX lots_open;
DROP TABLE entries;
ALTER TABLE entries_v2 RENAME TO entries;
