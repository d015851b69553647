-- The end of the latest charge in a partition (fixed-width RFC 3339 UTC, so text order is time order): an export
-- of a month whose charges end earlier than those of the month's current import is an older one, refused unless
-- the user says to replace the newer data. NULL for partitions imported before this column existed.
ALTER TABLE cost_partitions ADD COLUMN charges_until TEXT;
