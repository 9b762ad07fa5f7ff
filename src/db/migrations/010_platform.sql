-- Platform mode: projects of an account, their secret keys (hashed), end customers, their wallets and short-lived sessions.

CREATE TABLE projects (
  id                         text PRIMARY KEY,
  account_id                 text NOT NULL REFERENCES accounts (id),
  name                       text NOT NULL,
  -- The markup on end-user top-ups, in basis points of the net (0 to 1000 %).
  markup_bps                 integer NOT NULL DEFAULT 0 CHECK (markup_bps BETWEEN 0 AND 100000),
  -- Browser origins allowed to call with a session token; empty: none.
  allowed_origins            text[] NOT NULL DEFAULT '{}',
  end_user_sessions          boolean NOT NULL DEFAULT false,
  -- Below this an end-user wallet raises wallet.low_balance; NULL: the gateway default.
  low_balance_threshold_nano bigint CHECK (low_balance_threshold_nano IS NULL OR low_balance_threshold_nano >= 0),
  created_at                 timestamptz NOT NULL DEFAULT now(),
  updated_at                 timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX projects_account ON projects (account_id, id);

-- Platform secret keys (sk_live_…, sk_test_…): only their SHA-256 is kept.
CREATE TABLE project_keys (
  id         text PRIMARY KEY,
  project_id text NOT NULL REFERENCES projects (id),
  mode       text NOT NULL CHECK (mode IN ('live', 'test')),
  key_hash   text NOT NULL UNIQUE,
  display    text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX project_keys_project ON project_keys (project_id);

-- The developer's own users, one per (project, external id, mode): test and live never share one.
CREATE TABLE end_customers (
  id          text PRIMARY KEY,
  project_id  text NOT NULL REFERENCES projects (id),
  external_id text NOT NULL,
  email       text,
  name        text,
  mode        text NOT NULL CHECK (mode IN ('live', 'test')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, external_id, mode)
);
CREATE INDEX end_customers_list ON end_customers (project_id, mode, id);

-- One wallet per end customer. Its money is in the ledger under ledger_account_id ("wallet:<id>": agent ids cannot
-- contain ':', so it never names an account), so the prepaid machinery (Redis wallet, holds, settlement) serves it as it
-- serves an agent's wallet.
CREATE TABLE end_user_wallets (
  id                text PRIMARY KEY,
  end_customer_id   text NOT NULL UNIQUE REFERENCES end_customers (id),
  project_id        text NOT NULL REFERENCES projects (id),
  mode              text NOT NULL CHECK (mode IN ('live', 'test')),
  ledger_account_id text NOT NULL UNIQUE CHECK (ledger_account_id = 'wallet:' || id),
  status            text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen')),
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);

-- Session tokens (es_…, es_test_…), hashed. A refresh replaces a session with one of the same lineage, which a
-- per-session max_spend is counted across.
CREATE TABLE end_user_sessions (
  id              text PRIMARY KEY,
  token_hash      text NOT NULL UNIQUE,
  lineage_id      text NOT NULL,
  project_id      text NOT NULL REFERENCES projects (id),
  end_customer_id text NOT NULL REFERENCES end_customers (id),
  wallet_id       text NOT NULL REFERENCES end_user_wallets (id),
  mode            text NOT NULL CHECK (mode IN ('live', 'test')),
  scope_models    text[],
  max_spend_nano  bigint CHECK (max_spend_nano IS NULL OR max_spend_nano > 0),
  expires_at      timestamptz NOT NULL,
  revoked_at      timestamptz,
  replaced_by     text REFERENCES end_user_sessions (id),
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX end_user_sessions_lineage ON end_user_sessions (lineage_id);

-- The ledger now holds two kinds of holder: accounts and end-user wallets. A foreign key can name one table only, so a
-- trigger keeps the same guarantee (and the same SQLSTATE, 23503) for both.
ALTER TABLE ledger DROP CONSTRAINT ledger_account_id_fkey;
CREATE FUNCTION ledger_holder_exists() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM accounts WHERE id = NEW.account_id)
     AND NOT EXISTS (SELECT 1 FROM end_user_wallets WHERE ledger_account_id = NEW.account_id) THEN
    RAISE EXCEPTION 'ledger holder % does not exist', NEW.account_id USING ERRCODE = '23503';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER ledger_holder_exists BEFORE INSERT OR UPDATE OF account_id ON ledger
  FOR EACH ROW EXECUTE FUNCTION ledger_holder_exists();
