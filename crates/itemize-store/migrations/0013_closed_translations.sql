-- How a closed month's statement translated each cost centre's share into the currency it budgets in, as JSON
-- (code → currency and rate, or the rate that was missing), kept when the month is closed: a rate imported later,
-- or a cost centre's currency changed, does not change a closed statement. Months closed before this column have
-- none and are translated at the rates known when they are read, as before.
ALTER TABLE closed_periods ADD COLUMN translations TEXT;
