-- Reference data: cost centres, locations, people, business services, vendors; plus settings.
-- Written once for both databases. `{{id}}` is the dialect's auto-assigned 64-bit primary key; a line starting
-- with `--sqlite:` or `--postgres:` belongs to that dialect only (see src/dialect.rs).
-- Timestamps are fixed-width RFC 3339 UTC text (sorts as time), dates are YYYY-MM-DD text.

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE cost_centres (
    id {{id}},
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    parent_id BIGINT REFERENCES cost_centres (id),
    owner_id BIGINT
--sqlite:        REFERENCES people (id)
    ,
    currency TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    archived_at TEXT
);
CREATE UNIQUE INDEX uq_cost_centres__code ON cost_centres (lower(code));
CREATE INDEX ix_cost_centres_code ON cost_centres (code, id);
CREATE INDEX ix_cost_centres_name ON cost_centres (name, id);
CREATE INDEX ix_cost_centres_parent ON cost_centres (parent_id);
CREATE INDEX ix_cost_centres_owner ON cost_centres (owner_id);

CREATE TABLE locations (
    id {{id}},
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    parent_id BIGINT REFERENCES locations (id),
    country TEXT NOT NULL,
    city TEXT,
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    archived_at TEXT
);
CREATE UNIQUE INDEX uq_locations__code ON locations (lower(code));
CREATE INDEX ix_locations_code ON locations (code, id);
CREATE INDEX ix_locations_name ON locations (name, id);
CREATE INDEX ix_locations_parent ON locations (parent_id);

CREATE TABLE people (
    id {{id}},
    employee_id TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    job_title TEXT,
    cost_centre_id BIGINT REFERENCES cost_centres (id),
    location_id BIGINT REFERENCES locations (id),
    manager_id BIGINT REFERENCES people (id),
    status TEXT NOT NULL,
    leave_date TEXT,
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    archived_at TEXT
);
CREATE UNIQUE INDEX uq_people__employee_id ON people (lower(employee_id));
CREATE UNIQUE INDEX uq_people__email ON people (lower(email));
CREATE INDEX ix_people_name ON people (name, id);
CREATE INDEX ix_people_employee_id ON people (employee_id, id);
CREATE INDEX ix_people_email ON people (email, id);
CREATE INDEX ix_people_cost_centre ON people (cost_centre_id, name, id);
CREATE INDEX ix_people_location ON people (location_id);
CREATE INDEX ix_people_manager ON people (manager_id);

--postgres: ALTER TABLE cost_centres ADD CONSTRAINT fk_cost_centres_owner FOREIGN KEY (owner_id) REFERENCES people (id);

CREATE TABLE services (
    id {{id}},
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    owner_cost_centre_id BIGINT NOT NULL REFERENCES cost_centres (id),
    criticality TEXT NOT NULL,
    description TEXT,
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    archived_at TEXT
);
CREATE UNIQUE INDEX uq_services__code ON services (lower(code));
CREATE INDEX ix_services_code ON services (code, id);
CREATE INDEX ix_services_name ON services (name, id);
CREATE INDEX ix_services_owner ON services (owner_cost_centre_id);

CREATE TABLE vendors (
    id {{id}},
    name TEXT NOT NULL,
    -- A JSON array of strings: the other spellings bills and invoices use for this vendor.
    aliases TEXT NOT NULL,
    website TEXT,
    version BIGINT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    archived_at TEXT
);
CREATE UNIQUE INDEX uq_vendors__name ON vendors (lower(name));
CREATE INDEX ix_vendors_name ON vendors (name, id);
