-- usage_events partitioned by month of started_at (declarative range partitioning), with the same columns and indexes.
-- A request's row is unique by (request_id, started_at): every copy of a record (the gateway's, a retried job's, the
-- hold sweeper's) carries the started_at fixed at admission, so ON CONFLICT still sees a replay as the same row.
-- Monthly partitions are created ahead (usage_events_ensure_month, run by the migration for existing months and the
-- next 12, then daily by the worker); a row outside them lands in usage_events_default rather than failing.

ALTER TABLE usage_events RENAME TO usage_events_unpartitioned;
ALTER INDEX usage_events_pkey RENAME TO usage_events_unpartitioned_pkey;
ALTER INDEX usage_events_account_started RENAME TO usage_events_unpartitioned_account_started;
ALTER INDEX usage_events_unreported RENAME TO usage_events_unpartitioned_unreported;
ALTER INDEX usage_events_report_batch RENAME TO usage_events_unpartitioned_report_batch;

CREATE TABLE usage_events (LIKE usage_events_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
  PARTITION BY RANGE (started_at);
ALTER TABLE usage_events ADD CONSTRAINT usage_events_pkey PRIMARY KEY (request_id, started_at);
CREATE INDEX usage_events_account_started ON usage_events (account_id, started_at);
CREATE INDEX usage_events_unreported ON usage_events (started_at) WHERE report_batch_id IS NULL AND money_mode <> 'prepaid';
CREATE INDEX usage_events_report_batch ON usage_events (report_batch_id) WHERE report_batch_id IS NOT NULL;
CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT;

-- The partition of the month that starts at month_start (UTC), named usage_events_YYYY_MM; nothing if it exists.
CREATE FUNCTION usage_events_ensure_month(month_start date) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  first date := date_trunc('month', month_start)::date;
  name text := format('usage_events_%s', to_char(first, 'YYYY_MM'));
BEGIN
  IF to_regclass(name) IS NULL THEN
    EXECUTE format(
      'CREATE TABLE %I PARTITION OF usage_events FOR VALUES FROM (%L) TO (%L)',
      name, (first::timestamp AT TIME ZONE 'UTC'), ((first + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
  END IF;
END $$;

DO $$
DECLARE
  month date := date_trunc('month', coalesce((SELECT min(started_at) FROM usage_events_unpartitioned), now()) AT TIME ZONE 'UTC')::date;
  last date := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '12 months')::date;
BEGIN
  WHILE month <= last LOOP
    PERFORM usage_events_ensure_month(month);
    month := (month + interval '1 month')::date;
  END LOOP;
END $$;

INSERT INTO usage_events SELECT * FROM usage_events_unpartitioned;
DROP TABLE usage_events_unpartitioned;
