-- The IT asset register: assets with their lifecycle state and custody, an append-only event log per asset,
-- relationships (CMDB-lite), contracts and the assets they cover, one-off costs (repairs), physical audits.
-- Amounts are exact decimal text; dates YYYY-MM-DD; timestamps fixed-width RFC 3339 UTC.

CREATE TABLE assets (
    id {{id}},
    tag TEXT NOT NULL,
    name TEXT NOT NULL,
    class TEXT NOT NULL,
    model TEXT,
    manufacturer TEXT,
    serial TEXT,
    hostname TEXT,
    resource_id TEXT,
    state TEXT NOT NULL,
    substate TEXT,
    assignee_person_id BIGINT REFERENCES people (id),
    location_id BIGINT REFERENCES locations (id),
    service_id BIGINT REFERENCES services (id),
    expected_return TEXT,
    cost_centre_id BIGINT REFERENCES cost_centres (id),
    vendor_id BIGINT REFERENCES vendors (id),
    purchase_date TEXT,
    in_service_date TEXT,
    purchase_cost TEXT,
    currency TEXT NOT NULL,
    po_number TEXT,
    invoice_number TEXT,
    depreciation_method TEXT NOT NULL,
    depreciation_rate TEXT,
    depreciation_convention TEXT NOT NULL,
    depreciation_start TEXT NOT NULL,
    useful_life_months BIGINT,
    salvage_value TEXT,
    warranty_end TEXT,
    end_of_life TEXT,
    notes TEXT,
    -- a JSON object of the class's custom fields
    custom TEXT NOT NULL,
    -- a JSON object: method, date, reference, sanitization
    disposal TEXT,
    last_audited_at TEXT,
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX uq_assets__tag ON assets (lower(tag));
CREATE INDEX ix_assets_tag ON assets (tag, id);
CREATE INDEX ix_assets_name ON assets (name, id);
CREATE INDEX ix_assets_serial_l ON assets (lower(serial));
CREATE INDEX ix_assets_hostname_l ON assets (hostname);
CREATE INDEX ix_assets_serial ON assets (serial, id);
CREATE INDEX ix_assets_state ON assets (state, tag, id);
CREATE INDEX ix_assets_class ON assets (class, tag, id);
CREATE INDEX ix_assets_model ON assets (model, id);
CREATE INDEX ix_assets_assignee ON assets (assignee_person_id, tag, id);
CREATE INDEX ix_assets_location ON assets (location_id, tag, id);
CREATE INDEX ix_assets_service ON assets (service_id);
CREATE INDEX ix_assets_cost_centre ON assets (cost_centre_id, tag, id);
CREATE INDEX ix_assets_vendor ON assets (vendor_id);
CREATE INDEX ix_assets_purchase_date ON assets (purchase_date, id);
CREATE INDEX ix_assets_warranty_end ON assets (warranty_end, id);
CREATE INDEX ix_assets_end_of_life ON assets (end_of_life, id);
CREATE INDEX ix_assets_updated ON assets (updated_at, id);
CREATE INDEX ix_assets_expected_return ON assets (expected_return);
CREATE INDEX ix_assets_resource ON assets (resource_id);

-- Every change to an asset, in order: field changes (before/after), transitions, assignments, audits,
-- disposals. Never updated or deleted.
CREATE TABLE asset_events (
    id {{id}},
    asset_id BIGINT NOT NULL REFERENCES assets (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    -- created, updated, transition, check-out, check-in, audited, relation, cost, contract, imported
    kind TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX ix_asset_events_asset ON asset_events (asset_id, id);
CREATE INDEX ix_asset_events_kind ON asset_events (kind, at);
--sqlite: CREATE TRIGGER asset_events_no_update BEFORE UPDATE ON asset_events BEGIN SELECT RAISE(ABORT, 'asset history is append-only'); END;
--sqlite: CREATE TRIGGER asset_events_no_delete BEFORE DELETE ON asset_events BEGIN SELECT RAISE(ABORT, 'asset history is append-only'); END;
--postgres: CREATE FUNCTION asset_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'asset history is append-only'; END $$;
--postgres: CREATE TRIGGER asset_events_no_change BEFORE UPDATE OR DELETE ON asset_events FOR EACH ROW EXECUTE FUNCTION asset_events_append_only();
--postgres: CREATE TRIGGER asset_events_no_truncate BEFORE TRUNCATE ON asset_events FOR EACH STATEMENT EXECUTE FUNCTION asset_events_append_only();

-- Asset → service (runs) and asset → asset (depends-on, installed-in). Ended, never deleted.
CREATE TABLE asset_relations (
    id {{id}},
    asset_id BIGINT NOT NULL REFERENCES assets (id),
    kind TEXT NOT NULL,
    to_asset_id BIGINT REFERENCES assets (id),
    to_service_id BIGINT REFERENCES services (id),
    created_at TEXT NOT NULL,
    ended_at TEXT
);
CREATE INDEX ix_asset_relations_from ON asset_relations (asset_id);
CREATE INDEX ix_asset_relations_to_asset ON asset_relations (to_asset_id);
CREATE INDEX ix_asset_relations_to_service ON asset_relations (to_service_id);

CREATE TABLE contracts (
    id {{id}},
    number TEXT NOT NULL,
    name TEXT NOT NULL,
    -- purchase, lease, maintenance, warranty, subscription
    kind TEXT NOT NULL,
    vendor_id BIGINT REFERENCES vendors (id),
    value TEXT NOT NULL,
    currency TEXT NOT NULL,
    -- one-off, monthly, quarterly, annual
    billing_frequency TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT NOT NULL,
    -- auto, manual, none
    renewal TEXT NOT NULL,
    notice_days BIGINT NOT NULL,
    owner_person_id BIGINT REFERENCES people (id),
    cost_centre_id BIGINT REFERENCES cost_centres (id),
    notes TEXT,
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    archived_at TEXT
);
CREATE UNIQUE INDEX uq_contracts__number ON contracts (lower(number));
CREATE INDEX ix_contracts_end ON contracts (end_date, id);

CREATE TABLE contract_assets (
    contract_id BIGINT NOT NULL REFERENCES contracts (id),
    asset_id BIGINT NOT NULL REFERENCES assets (id),
    PRIMARY KEY (contract_id, asset_id)
);
CREATE INDEX ix_contract_assets_asset ON contract_assets (asset_id);

-- One-off costs over an asset's life: repairs, upgrades, maintenance visits.
CREATE TABLE asset_costs (
    id {{id}},
    asset_id BIGINT NOT NULL REFERENCES assets (id),
    cost_date TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    reference TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_asset_costs_asset ON asset_costs (asset_id);

-- A physical audit of one location: what was expected there, what was scanned.
CREATE TABLE asset_audits (
    id {{id}},
    location_id BIGINT NOT NULL REFERENCES locations (id),
    status TEXT NOT NULL,
    started_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    closed_at TEXT,
    -- JSON array of the asset ids expected at the location when the audit began
    expected TEXT NOT NULL
);

CREATE TABLE asset_audit_scans (
    id {{id}},
    audit_id BIGINT NOT NULL REFERENCES asset_audits (id),
    input TEXT NOT NULL,
    asset_id BIGINT REFERENCES assets (id),
    -- found, unexpected, unknown, repeat
    result TEXT NOT NULL,
    scanned_at TEXT NOT NULL
);
CREATE INDEX ix_asset_audit_scans_audit ON asset_audit_scans (audit_id, id);
