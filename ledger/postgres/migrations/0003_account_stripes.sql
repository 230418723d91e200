-- Striped running totals for accounts that may go negative.
--
-- Every award debits its program's issuance account. Keeping that total in
-- accounts.posted meant every award in the system locked the same row
-- (SELECT ... FOR UPDATE, then UPDATE) until its durable commit, so awards
-- ran one WAL flush at a time. Accounts without ledger.FlagNoNegative
-- (flags & 1 = 0) need no lock: the engine never checks their balance.
-- For them accounts.posted is a base (the total at creation or import) and
-- each writer adds its change to one of a few stripe rows, picked per
-- storage transaction, so concurrent writers rarely share a row:
--
--   posted(account) = accounts.posted + sum(account_stripes.posted)
--
-- Accounts with FlagNoNegative keep their total in accounts.posted under
-- the row lock, as before, and have no stripe rows.
CREATE TABLE account_stripes (
    account text COLLATE "C" NOT NULL,  -- an accounts.id (no foreign key:
                                        -- its check would share-lock the hot row)
    stripe  smallint NOT NULL,
    posted  numeric  NOT NULL,  -- sum of the changes written to this stripe
    PRIMARY KEY (account, stripe)
);
