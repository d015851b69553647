-- A generic source's newer file need not replace all of an account's period: one that replaces invoice by
-- invoice restates only the invoices it holds, one whose files only add restates nothing. The slice says which
-- part of the period a partition restates: '' for all of it (cloud bills), an invoice number, or a file's hash.
ALTER TABLE cost_partitions ADD COLUMN slice TEXT NOT NULL DEFAULT '';
DROP INDEX uq_cost_partitions__current;
CREATE UNIQUE INDEX uq_cost_partitions__current ON cost_partitions (billing_period, provider, billing_account_id, slice)
    WHERE status = 'active';
