-- Per-project webhooks: an endpoint registered with a project's secret key belongs to that project and mode (NULL for
-- an account's own endpoints), and a project's event says which project and mode it is about, so only that project's
-- endpoints of that mode receive it. account_id stays the project's account (its foreign key and listings hold).
ALTER TABLE webhook_endpoints
  ADD COLUMN project_id text REFERENCES projects (id),
  ADD COLUMN mode       text CHECK (mode IS NULL OR mode IN ('live', 'test')),
  ADD CONSTRAINT webhook_endpoints_project_mode CHECK ((project_id IS NULL) = (mode IS NULL));
ALTER TABLE webhook_events
  ADD COLUMN project_id text,
  ADD COLUMN mode       text;
