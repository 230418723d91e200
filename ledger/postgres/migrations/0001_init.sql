-- negawatt ledger schema, version 1.
--
-- Instants are stored as bigint nanoseconds since the Unix epoch (UTC),
-- column suffix _ns, NULL for "none" (Go's zero time.Time). timestamptz
-- keeps only microseconds, and the ledger promises that what it returns is
-- exactly what it stored (and export/import between adapters must round-trip
-- exactly). Readable form: to_timestamp(x_ns / 1e9).
--
-- Amounts are numeric with the scale they were posted with; the engine
-- (package ledger) enforces each currency's scale before anything is stored.

CREATE TABLE accounts (
    id         text COLLATE "C" PRIMARY KEY,  -- "C": byte order, as Go sorts IDs
    kind       smallint NOT NULL,
    flags      integer  NOT NULL,
    currency   text     NOT NULL,
    created_ns bigint,
    posted     numeric  NOT NULL,  -- sum of postings: credits - debits
    held       numeric  NOT NULL   -- sum of open holds
);

-- One row per transaction; its postings are parallel arrays (index i of
-- each array is posting i) so reading a transaction is one row, and a
-- transaction is written with one INSERT.
CREATE TABLE transactions (
    seq          bigint  PRIMARY KEY,
    key          text COLLATE "C" NOT NULL UNIQUE,  -- idempotency key
    hash         bytea   NOT NULL,         -- SHA-256 of the canonical request
    effective_ns bigint,
    posted_ns    bigint,
    reverses     text    NOT NULL DEFAULT '',  -- key of the reversed transaction
    reversed_by  text    NOT NULL DEFAULT '',  -- key of the reversing transaction
    metadata     jsonb,
    consumed     jsonb,                    -- lots each debit drew from, for reversal
    from_accts   text[]    NOT NULL,
    to_accts     text[]    NOT NULL,
    amounts      numeric[] NOT NULL,
    expires_ns   bigint[]  NOT NULL,       -- NULL elements: credit does not expire
    CHECK (cardinality(from_accts) = cardinality(to_accts)
       AND cardinality(from_accts) = cardinality(amounts)
       AND cardinality(from_accts) = cardinality(expires_ns))
);

-- Which transactions touch an account: History pages through it by seq.
CREATE TABLE tx_accounts (
    account text COLLATE "C" NOT NULL,
    seq     bigint NOT NULL,
    PRIMARY KEY (account, seq)
);

CREATE TABLE lots (
    seq        bigint  NOT NULL,  -- transaction that created the lot
    posting    integer NOT NULL,  -- and its posting index
    account    text COLLATE "C" NOT NULL,
    expires_ns bigint,            -- NULL: never expires
    amount     numeric NOT NULL,
    remaining  numeric NOT NULL,
    expired    numeric NOT NULL,
    PRIMARY KEY (seq, posting)
);
CREATE INDEX lots_open ON lots (account) WHERE remaining > 0;
CREATE INDEX lots_expiring ON lots (expires_ns, seq, posting)
    WHERE remaining > 0 AND expires_ns IS NOT NULL;

CREATE TABLE holds (
    id          text COLLATE "C" PRIMARY KEY,
    account     text COLLATE "C" NOT NULL,
    to_acct     text     NOT NULL,
    amount      numeric  NOT NULL,
    deadline_ns bigint,
    metadata    jsonb,
    status      smallint NOT NULL,  -- ledger.HoldStatus: 1 open, 2 committed, 3 voided, 4 expired
    committed   numeric  NOT NULL,
    commit_key  text     NOT NULL,
    created_ns  bigint,
    resolved_ns bigint,
    hash        bytea    NOT NULL,
    reserved    jsonb               -- lots the hold reserved
);
CREATE INDEX holds_open ON holds (account) WHERE status = 1;
CREATE INDEX holds_deadline ON holds (deadline_ns, id) WHERE status = 1;

-- Transaction sequence numbers. ReserveSeq hands out n consecutive values;
-- a sequence (not a row) so reserving never blocks on another writer's
-- uncommitted transaction. Gaps from rolled-back reservations are allowed.
CREATE SEQUENCE ledger_seq AS bigint MINVALUE 1 START 1;

-- ledger_reserve_seq(n) returns the first of n consecutive numbers from
-- ledger_seq. nextval+setval must not interleave with another caller's, so
-- they run under a session advisory lock released before returning (a
-- transaction-scoped lock would serialise writers until commit). The
-- handler releases the lock on any error, cancellation included, so a
-- failed call cannot leave the session holding it.
CREATE FUNCTION ledger_reserve_seq(n bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    first bigint;
BEGIN
    BEGIN
        PERFORM pg_advisory_lock(20055, hashtext(current_schema()));
        first := nextval('ledger_seq');
        IF n > 1 THEN
            PERFORM setval('ledger_seq', first + n - 1);
        END IF;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        PERFORM pg_advisory_unlock(20055, hashtext(current_schema()));
        RAISE;
    END;
    PERFORM pg_advisory_unlock(20055, hashtext(current_schema()));
    RETURN first;
END $$;

-- ledger_advance_seq(s) makes later reservations exceed s (after an import
-- stored transactions with their original sequence numbers).
CREATE FUNCTION ledger_advance_seq(s bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        PERFORM pg_advisory_lock(20055, hashtext(current_schema()));
        IF s > (SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END FROM ledger_seq) THEN
            PERFORM setval('ledger_seq', s);
        END IF;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        PERFORM pg_advisory_unlock(20055, hashtext(current_schema()));
        RAISE;
    END;
    PERFORM pg_advisory_unlock(20055, hashtext(current_schema()));
END $$;
