-- Tenancy, identities and the tenant tables other than readings.
--
-- Access model:
--   * The application connects as a role that owns nothing and has no BYPASSRLS (pdm_app locally). Every tenant
--     query runs in a transaction that first calls set_config('pdm.tenant_id', <uuid>, true); the policies named
--     tenant_isolation below compare tenant_id with that setting. Without it nothing is visible or writable.
--   * Platform (cross-tenant) access goes ONLY through SECURITY DEFINER functions owned by the migrating role
--     (pdm_owner locally), each with a fixed search_path. We chose these over a settable "pdm.platform_admin" GUC
--     because the application role could set such a GUC itself (one SQL injection away from every tenant), while
--     it cannot change what these few functions do.
--   * Because row-level security is FORCED, the owner is subject to policies too; the owner_access policies
--     (TO CURRENT_USER = the migrating role) are what let those functions see every tenant.

-- The tenant of the current transaction, or null. set_config(..., true) leaves '' behind after commit.
CREATE FUNCTION pdm.current_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(pg_catalog.current_setting('pdm.tenant_id', true), '')::uuid $$;

CREATE TABLE pdm.tenants (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL UNIQUE CHECK (length(btrim(name)) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    settings jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE TABLE pdm.api_keys (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- null = platform admin key
    tenant_id uuid REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    name text NOT NULL,
    -- first 12 characters of the key, for lookup
    prefix text NOT NULL UNIQUE,
    -- SHA-256 of the whole key: keys are 32 random bytes, so a fast hash is enough
    hash bytea NOT NULL CHECK (length(hash) = 32),
    role text NOT NULL CHECK (role IN ('platform-admin', 'tenant-admin', 'tenant-reader', 'device-provisioner')),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CONSTRAINT api_keys_platform_keys_have_no_tenant CHECK ((role = 'platform-admin') = (tenant_id IS NULL))
);
CREATE INDEX api_keys_tenant_idx ON pdm.api_keys (tenant_id);

CREATE TABLE pdm.devices (
    tenant_id uuid NOT NULL REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    -- an IoT Hub identity belongs to exactly one tenant
    device_id text PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now(),
    disabled boolean NOT NULL DEFAULT false
);
CREATE INDEX devices_tenant_idx ON pdm.devices (tenant_id);

CREATE TABLE pdm.machines (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    machine_id text NOT NULL,
    name text,
    kind text,
    first_seen_by_device text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT machines_tenant_machine_key UNIQUE (tenant_id, machine_id)
);

CREATE TABLE pdm.rejected_messages (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- null when the device is unknown
    tenant_id uuid REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    device_id text NOT NULL,
    received_at timestamptz NOT NULL,
    -- deterministic key chosen by the caller, so a replayed message is stored once
    message_key text NOT NULL UNIQUE,
    errors jsonb NOT NULL CHECK (jsonb_typeof(errors) = 'array'),
    payload text NOT NULL,
    source text NOT NULL
);
CREATE INDEX rejected_messages_tenant_received_idx ON pdm.rejected_messages (tenant_id, received_at DESC);

CREATE TABLE pdm.audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id uuid REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    details jsonb
);
CREATE INDEX audit_log_tenant_at_idx ON pdm.audit_log (tenant_id, at DESC);

ALTER TABLE pdm.tenants ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pdm.tenants
    USING (id = (SELECT pdm.current_tenant_id())) WITH CHECK (id = (SELECT pdm.current_tenant_id()));
CREATE POLICY owner_access ON pdm.tenants TO CURRENT_USER USING (true) WITH CHECK (true);

ALTER TABLE pdm.api_keys ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pdm.api_keys
    USING (tenant_id = (SELECT pdm.current_tenant_id())) WITH CHECK (tenant_id = (SELECT pdm.current_tenant_id()));
CREATE POLICY owner_access ON pdm.api_keys TO CURRENT_USER USING (true) WITH CHECK (true);

ALTER TABLE pdm.devices ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pdm.devices
    USING (tenant_id = (SELECT pdm.current_tenant_id())) WITH CHECK (tenant_id = (SELECT pdm.current_tenant_id()));
CREATE POLICY owner_access ON pdm.devices TO CURRENT_USER USING (true) WITH CHECK (true);

ALTER TABLE pdm.machines ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pdm.machines
    USING (tenant_id = (SELECT pdm.current_tenant_id())) WITH CHECK (tenant_id = (SELECT pdm.current_tenant_id()));
CREATE POLICY owner_access ON pdm.machines TO CURRENT_USER USING (true) WITH CHECK (true);

ALTER TABLE pdm.rejected_messages ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pdm.rejected_messages
    USING (tenant_id = (SELECT pdm.current_tenant_id())) WITH CHECK (tenant_id = (SELECT pdm.current_tenant_id()));
CREATE POLICY owner_access ON pdm.rejected_messages TO CURRENT_USER USING (true) WITH CHECK (true);

ALTER TABLE pdm.audit_log ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pdm.audit_log
    USING (tenant_id = (SELECT pdm.current_tenant_id())) WITH CHECK (tenant_id = (SELECT pdm.current_tenant_id()));
CREATE POLICY owner_access ON pdm.audit_log TO CURRENT_USER USING (true) WITH CHECK (true);

-- Functions are executable by PUBLIC by default; the migrator grants EXECUTE to the app role only.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- Tenant resolution before a tenant is known (ingest).
CREATE FUNCTION pdm.resolve_device(p_device_id text)
    RETURNS TABLE (tenant_id uuid, disabled boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT d.tenant_id, d.disabled FROM pdm.devices d WHERE d.device_id = p_device_id $$;

-- API key lookup before a tenant is known (authentication).
CREATE FUNCTION pdm.find_api_key(p_prefix text)
    RETURNS TABLE (id uuid, tenant_id uuid, name text, hash bytea, role text, revoked boolean)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT k.id, k.tenant_id, k.name, k.hash, k.role, k.revoked_at IS NOT NULL
        FROM pdm.api_keys k WHERE k.prefix = p_prefix
    $$;

-- Platform administration.
CREATE FUNCTION pdm.create_tenant(p_name text, p_settings jsonb)
    RETURNS SETOF pdm.tenants
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        INSERT INTO pdm.tenants (name, settings) VALUES (p_name, coalesce(p_settings, '{}'::jsonb))
        ON CONFLICT (name) DO NOTHING
        RETURNING *
    $$;

CREATE FUNCTION pdm.list_tenants()
    RETURNS SETOF pdm.tenants
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT * FROM pdm.tenants ORDER BY name $$;

CREATE FUNCTION pdm.get_tenant(p_id uuid)
    RETURNS SETOF pdm.tenants
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT * FROM pdm.tenants WHERE id = p_id $$;

CREATE FUNCTION pdm.create_api_key(p_tenant_id uuid, p_name text, p_prefix text, p_hash bytea, p_role text)
    RETURNS TABLE (id uuid, created_at timestamptz)
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        INSERT INTO pdm.api_keys (tenant_id, name, prefix, hash, role)
        VALUES (p_tenant_id, p_name, p_prefix, p_hash, p_role)
        RETURNING id, created_at
    $$;

-- p_tenant_id null = any key (platform admin); otherwise only that tenant's key is revoked.
CREATE FUNCTION pdm.revoke_api_key(p_id uuid, p_tenant_id uuid)
    RETURNS boolean
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        WITH revoked AS (
            UPDATE pdm.api_keys SET revoked_at = now()
            WHERE id = p_id AND revoked_at IS NULL AND (p_tenant_id IS NULL OR tenant_id = p_tenant_id)
            RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM revoked)
    $$;

-- p_tenant_id null = the platform admin keys.
CREATE FUNCTION pdm.list_api_keys(p_tenant_id uuid)
    RETURNS TABLE (id uuid, tenant_id uuid, name text, prefix text, role text, created_at timestamptz, revoked_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT k.id, k.tenant_id, k.name, k.prefix, k.role, k.created_at, k.revoked_at
        FROM pdm.api_keys k WHERE k.tenant_id IS NOT DISTINCT FROM p_tenant_id
        ORDER BY k.created_at, k.id
    $$;

-- Rejected messages from devices no tenant owns. Returns whether a row was stored (false = replay).
CREATE FUNCTION pdm.write_unattributed_reject(
        p_device_id text, p_received_at timestamptz, p_message_key text, p_errors jsonb, p_payload text, p_source text)
    RETURNS boolean
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        WITH stored AS (
            INSERT INTO pdm.rejected_messages (tenant_id, device_id, received_at, message_key, errors, payload, source)
            VALUES (NULL, p_device_id, p_received_at, p_message_key, p_errors, p_payload, p_source)
            ON CONFLICT (message_key) DO NOTHING
            RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM stored)
    $$;

-- Audit entries not tied to a tenant (platform actions).
CREATE FUNCTION pdm.write_platform_audit(p_actor text, p_action text, p_target text, p_details jsonb)
    RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        INSERT INTO pdm.audit_log (tenant_id, actor, action, target, details)
        VALUES (NULL, p_actor, p_action, p_target, p_details)
    $$;
