-- Cost allocation: versioned rule sets, allocation runs, the cost cube they build, driver metrics and closed
-- (chargeback) periods. Amounts are exact decimal text; sums are taken in the application.

-- A rule set is never edited: a change is a new version. The set for a billing period is the newest one whose
-- effective_from is not after it.
CREATE TABLE allocation_rule_sets (
    id {{id}},
    name TEXT NOT NULL,
    -- YYYY-MM
    effective_from TEXT NOT NULL,
    -- the TOML as it was given
    body TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_allocation_rule_sets_effective ON allocation_rule_sets (effective_from, id);

CREATE TABLE allocation_runs (
    id {{id}},
    billing_period TEXT NOT NULL,
    rule_set_id BIGINT NOT NULL REFERENCES allocation_rule_sets (id),
    -- current (its cells are the cube's for the period) or replaced
    status TEXT NOT NULL,
    lines BIGINT NOT NULL,
    cells BIGINT NOT NULL,
    billed_total TEXT NOT NULL,
    effective_total TEXT NOT NULL,
    unallocated_effective TEXT NOT NULL,
    -- the ledger partitions the run read
    partitions_json TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    duration_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX uq_allocation_runs__current ON allocation_runs (billing_period) WHERE status = 'current';

-- day x provider x account x service x region x charge category x free dimensions x target x rule, in the
-- reporting currency; only the current run's cells are kept.
CREATE TABLE cost_cube (
    run_id BIGINT NOT NULL REFERENCES allocation_runs (id),
    billing_period TEXT NOT NULL,
    day TEXT NOT NULL,
    provider TEXT NOT NULL,
    billing_account_id TEXT NOT NULL,
    service_name TEXT NOT NULL,
    region TEXT NOT NULL,
    charge_category TEXT NOT NULL,
    service_category TEXT NOT NULL,
    dims TEXT NOT NULL,
    -- svc:CODE, cc:CODE or unallocated
    target TEXT NOT NULL,
    cost_centre TEXT,
    service TEXT,
    rule TEXT NOT NULL,
    method TEXT NOT NULL,
    billed TEXT NOT NULL,
    effective TEXT NOT NULL,
    lines BIGINT NOT NULL
);
CREATE INDEX ix_cost_cube_period ON cost_cube (billing_period, target);

-- The cube rolled up per period and target (what statements read).
CREATE TABLE cost_cube_month (
    run_id BIGINT NOT NULL REFERENCES allocation_runs (id),
    billing_period TEXT NOT NULL,
    target TEXT NOT NULL,
    cost_centre TEXT,
    service TEXT,
    billed TEXT NOT NULL,
    effective TEXT NOT NULL,
    lines BIGINT NOT NULL
);
CREATE INDEX ix_cost_cube_month_period ON cost_cube_month (billing_period);

-- Driver series for pools split by a metric (CPU-hours, requests, seats) per target and period.
CREATE TABLE allocation_metrics (
    billing_period TEXT NOT NULL,
    metric TEXT NOT NULL,
    -- a cost-centre or service code or name
    target TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (billing_period, metric, target)
);

-- A closed period is locked: it is not re-allocated; its journal is final.
CREATE TABLE closed_periods (
    billing_period TEXT PRIMARY KEY,
    run_id BIGINT NOT NULL REFERENCES allocation_runs (id),
    closed_by TEXT NOT NULL,
    closed_at TEXT NOT NULL
);
