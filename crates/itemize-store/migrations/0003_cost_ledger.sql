-- The cost ledger's manifest. Cost lines live in the columnar cost lake (Parquet files under the data
-- directory, one per billing period x provider x billing account x import); the database says which files
-- exist, which are current, and what each import read, wrote, refused and totalled.

CREATE TABLE cost_imports (
    id {{id}},
    file_name TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    file_bytes BIGINT NOT NULL,
    -- focus, aws-cur, azure, gcp, gcp-jsonl, generic, focus-contract; null until the file is recognised
    format TEXT,
    format_version TEXT,
    container TEXT,
    -- strict or lenient
    mode TEXT NOT NULL,
    -- queued, running, active (its partitions are current), superseded (every partition restated since),
    -- duplicate (the same bytes were imported before), rejected (bad rows, strict), failed (unreadable)
    status TEXT NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_ingested BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    -- per billing period and currency: billed, effective, list and contracted cost, and their reporting-currency
    -- equivalents; and what lenient mode left out
    totals_json TEXT,
    -- the first 100 errors in full and the count of every reason
    report_json TEXT,
    message TEXT,
    -- the raw file, content-addressed under the data directory
    raw_path TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    duration_ms BIGINT
);
CREATE INDEX ix_cost_imports_sha ON cost_imports (file_sha256, status);

CREATE TABLE cost_partitions (
    id {{id}},
    import_id BIGINT NOT NULL REFERENCES cost_imports (id),
    billing_period TEXT NOT NULL,
    provider TEXT NOT NULL,
    billing_account_id TEXT NOT NULL,
    -- active or superseded
    status TEXT NOT NULL,
    superseded_by BIGINT REFERENCES cost_imports (id),
    rows_count BIGINT NOT NULL,
    -- relative to the lake's root
    lake_path TEXT NOT NULL,
    totals_json TEXT NOT NULL,
    -- the distinct service names and tag keys in the partition, for pruning
    services_json TEXT NOT NULL,
    tag_keys_json TEXT NOT NULL
);
CREATE INDEX ix_cost_partitions_import ON cost_partitions (import_id);
CREATE INDEX ix_cost_partitions_period ON cost_partitions (billing_period, status);
-- At most one current version of a billing period of an account: a restatement replaces, never adds.
CREATE UNIQUE INDEX uq_cost_partitions__current ON cost_partitions (billing_period, provider, billing_account_id)
    WHERE status = 'active';

CREATE TABLE exchange_rates (
    rate_date TEXT NOT NULL,
    from_currency TEXT NOT NULL,
    to_currency TEXT NOT NULL,
    -- exact decimal text: units of to_currency per unit of from_currency
    rate TEXT NOT NULL,
    source TEXT,
    imported_at TEXT NOT NULL,
    PRIMARY KEY (rate_date, from_currency, to_currency)
);

-- The FOCUS 1.3 contract-commitment dataset.
CREATE TABLE contract_commitments (
    id {{id}},
    import_id BIGINT NOT NULL REFERENCES cost_imports (id),
    line BIGINT NOT NULL,
    commitment_id TEXT NOT NULL,
    commitment_type TEXT,
    commitment_category TEXT,
    cost TEXT,
    quantity TEXT,
    unit TEXT,
    description TEXT,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    contract_id TEXT,
    contract_period_start TEXT,
    contract_period_end TEXT,
    billing_currency TEXT NOT NULL
);
CREATE INDEX ix_contract_commitments_id ON contract_commitments (commitment_id, import_id);
