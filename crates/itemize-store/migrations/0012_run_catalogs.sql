-- The catalog (cost centres, services and their owners, headcount, the period's driver metrics) an allocation
-- run's rules were compiled against, as JSON: a closed period is restated and explained with its rules resolved
-- as they were when it was allocated, whatever was archived, renamed or moved since. Runs made before this table
-- existed have no row.
CREATE TABLE allocation_run_catalogs (
    run_id BIGINT PRIMARY KEY REFERENCES allocation_runs (id),
    catalog TEXT NOT NULL
);
