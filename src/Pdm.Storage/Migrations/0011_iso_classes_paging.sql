-- ISO 10816 classes per machine kind and per machine, and the indexes the API's keyset pages read.
--
-- A class is the short name of a zone table (Pdm.Telemetry IsoZoneClasses). Ingest judges a machine's vibration by
-- its own class, else its kind's class here, else the built-in class of the kind, else group2-rigid.
ALTER TABLE pdm.machines ADD COLUMN iso_class text CHECK (iso_class IN (
    'group1-rigid', 'group1-flexible', 'group2-rigid', 'group2-flexible', 'class1', 'class2', 'class3', 'class4'));

CREATE TABLE pdm.machine_kinds (
    tenant_id uuid NOT NULL REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (length(kind) BETWEEN 1 AND 63),
    iso_class text NOT NULL CHECK (iso_class IN (
        'group1-rigid', 'group1-flexible', 'group2-rigid', 'group2-flexible', 'class1', 'class2', 'class3', 'class4')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, kind)
);
ALTER TABLE pdm.machine_kinds ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pdm.machine_kinds
    USING (tenant_id = (SELECT pdm.current_tenant_id())) WITH CHECK (tenant_id = (SELECT pdm.current_tenant_id()));
CREATE POLICY owner_access ON pdm.machine_kinds TO CURRENT_USER USING (true) WITH CHECK (true);

-- Keyset pages: each list's order, with the tenant first (row-level security filters on it).
DROP INDEX pdm.devices_tenant_idx;
CREATE INDEX devices_tenant_device_idx ON pdm.devices (tenant_id, device_id COLLATE "C");
DROP INDEX pdm.rejected_messages_tenant_received_idx;
CREATE INDEX rejected_messages_tenant_received_idx ON pdm.rejected_messages (tenant_id, received_at DESC, id DESC);
DROP INDEX pdm.webhook_dead_letters_tenant_idx;
CREATE INDEX webhook_dead_letters_tenant_idx ON pdm.webhook_dead_letters (tenant_id, dead_lettered_at DESC, id DESC);
