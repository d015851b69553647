-- Restatements of closed periods. A closed period's cube and journal never change; when a later import restates
-- its ledger, the difference between the period re-allocated and what was closed (plus adjustments already
-- posted for it) is posted here, into the next open period, whose cube then carries it as its own lines.
CREATE TABLE allocation_adjustments (
    id {{id}},
    -- the closed period the import restated
    source_period TEXT NOT NULL,
    -- the open period that carries the difference
    posted_period TEXT NOT NULL,
    -- the import that restated it, when one did
    import_id BIGINT,
    provider TEXT NOT NULL,
    billing_account_id TEXT NOT NULL,
    service_name TEXT NOT NULL,
    region TEXT NOT NULL,
    charge_category TEXT NOT NULL,
    service_category TEXT NOT NULL,
    dims TEXT NOT NULL,
    target TEXT NOT NULL,
    cost_centre TEXT,
    service TEXT,
    billed TEXT NOT NULL,
    effective TEXT NOT NULL,
    lines BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_allocation_adjustments_posted ON allocation_adjustments (posted_period);
CREATE INDEX ix_allocation_adjustments_source ON allocation_adjustments (source_period);
