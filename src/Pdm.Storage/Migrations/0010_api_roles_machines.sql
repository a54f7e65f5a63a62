-- API v1 access control and machine metadata.
--
-- Roles: tenant keys become viewer / operator / admin. tenant-reader -> viewer and tenant-admin -> admin keep what
-- they could do. device-provisioner -> operator: a provisioner registered devices and read the tenant, and operator is
-- the smallest new role that still registers devices (it can also act on alerts and replay deliveries, which a plant's
-- provisioning script does not need but cannot misuse to widen access: keys, rules and subscriptions stay admin-only).
ALTER TABLE pdm.api_keys DROP CONSTRAINT api_keys_role_check;
ALTER TABLE pdm.api_keys DROP CONSTRAINT api_keys_platform_keys_have_no_tenant;
UPDATE pdm.api_keys SET role = CASE role
    WHEN 'tenant-admin' THEN 'admin'
    WHEN 'tenant-reader' THEN 'viewer'
    WHEN 'device-provisioner' THEN 'operator'
    ELSE role END;
ALTER TABLE pdm.api_keys ADD CONSTRAINT api_keys_role_check CHECK (role IN ('platform-admin', 'admin', 'operator', 'viewer'));
ALTER TABLE pdm.api_keys ADD CONSTRAINT api_keys_platform_keys_have_no_tenant CHECK ((role = 'platform-admin') = (tenant_id IS NULL));

-- When the key was last presented, to the minute: the API writes it at most once a minute per key.
ALTER TABLE pdm.api_keys ADD COLUMN last_used_at timestamptz;

CREATE FUNCTION pdm.touch_api_key(p_id uuid, p_at timestamptz)
    RETURNS void
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        UPDATE pdm.api_keys SET last_used_at = p_at
        WHERE id = p_id AND (last_used_at IS NULL OR last_used_at < p_at)
    $$;

DROP FUNCTION pdm.list_api_keys(uuid);
-- p_tenant_id null = the platform admin keys.
CREATE FUNCTION pdm.list_api_keys(p_tenant_id uuid)
    RETURNS TABLE (id uuid, tenant_id uuid, name text, prefix text, role text, created_at timestamptz, revoked_at timestamptz,
                   last_used_at timestamptz)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT k.id, k.tenant_id, k.name, k.prefix, k.role, k.created_at, k.revoked_at, k.last_used_at
        FROM pdm.api_keys k WHERE k.tenant_id IS NOT DISTINCT FROM p_tenant_id
        ORDER BY k.created_at, k.id
    $$;

-- Microsoft Entra ID: the directory (token claim tid) whose users act for this tenant. One directory, one tenant.
ALTER TABLE pdm.tenants ADD COLUMN entra_tenant_id uuid UNIQUE;

-- Tenant resolution of a bearer token before a tenant is known.
CREATE FUNCTION pdm.find_tenant_by_entra_id(p_entra_tenant_id uuid)
    RETURNS uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$ SELECT t.id FROM pdm.tenants t WHERE t.entra_tenant_id = p_entra_tenant_id $$;

-- Returns false when the tenant does not exist; a directory taken by another tenant raises unique_violation.
CREATE FUNCTION pdm.set_tenant_entra_id(p_id uuid, p_entra_tenant_id uuid)
    RETURNS boolean
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        WITH changed AS (UPDATE pdm.tenants SET entra_tenant_id = p_entra_tenant_id WHERE id = p_id RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM changed)
    $$;

ALTER TABLE pdm.machines ADD COLUMN location text CHECK (length(location) <= 200);
ALTER TABLE pdm.machines ADD COLUMN criticality text CHECK (criticality IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL'));

-- The audit log is read newest first and paged by (at, id).
DROP INDEX pdm.audit_log_tenant_at_idx;
CREATE INDEX audit_log_tenant_at_idx ON pdm.audit_log (tenant_id, at DESC, id DESC);
