-- Balance at a past instant asks for an account's holds resolved after it
-- (ledger.ResolvedHoldLister).
CREATE INDEX holds_resolved ON holds (account, resolved_ns) WHERE status <> 1;
