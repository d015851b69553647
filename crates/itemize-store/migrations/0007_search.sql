-- Searching assets by a person: a case-insensitive prefix of the person's name, found through an index
-- instead of reading every person.
CREATE INDEX ix_people_name_l ON people (lower(name));

-- Columns most assets leave empty are indexed only where they hold a value: every lookup on them (`= x`,
-- ranges, the sort that lists only assets having one) implies a value, and an import no longer pays for
-- index entries nobody can find.
DROP INDEX ix_assets_hostname_l;
CREATE INDEX ix_assets_hostname ON assets (hostname) WHERE hostname IS NOT NULL;
DROP INDEX ix_assets_service;
CREATE INDEX ix_assets_service ON assets (service_id) WHERE service_id IS NOT NULL;
DROP INDEX ix_assets_vendor;
CREATE INDEX ix_assets_vendor ON assets (vendor_id) WHERE vendor_id IS NOT NULL;
DROP INDEX ix_assets_expected_return;
CREATE INDEX ix_assets_expected_return ON assets (expected_return) WHERE expected_return IS NOT NULL;
DROP INDEX ix_assets_resource;
CREATE INDEX ix_assets_resource ON assets (resource_id) WHERE resource_id IS NOT NULL;
