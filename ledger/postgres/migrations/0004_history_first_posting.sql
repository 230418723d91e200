-- History without a tx_accounts row for every account of every transaction.
--
-- Almost every transaction has one posting (an award, a redemption, an
-- expiry), and writing two tx_accounts rows (heap tuple and primary-key
-- entry each) for it cost about as much as writing the transaction itself.
-- Its accounts are now found through two expression indexes on the
-- transaction row, on the first posting's debit and credit accounts;
-- tx_accounts keeps only the accounts that appear in no first posting
-- (later postings of multi-posting transactions). An account's
-- transactions are the union of the three index scans.
CREATE INDEX transactions_first_from ON transactions ((from_accts[1]), seq);
CREATE INDEX transactions_first_to ON transactions ((to_accts[1]), seq);
DELETE FROM tx_accounts a USING transactions t
    WHERE t.seq = a.seq AND (a.account = t.from_accts[1] OR a.account = t.to_accts[1]);
