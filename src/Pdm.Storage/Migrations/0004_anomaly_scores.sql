-- Anomaly scores beside the readings, and the per-machine detector state that makes scoring resumable.
--
-- One score row per machine sample (not per value). The key is the reading's (tenant, machine, timestamp), so a
-- replayed batch scores nothing twice. The ensemble's parts and the top contributing sensors are kept with the
-- score, so an alert can say which sensors drove it without recomputing anything.

CREATE TABLE pdm.anomaly_scores (
    tenant_id uuid NOT NULL,
    machine_id text COLLATE "C" NOT NULL,
    ts timestamptz NOT NULL,
    seq bigint NOT NULL,
    score double precision NOT NULL,
    threshold double precision NOT NULL,
    anomaly boolean NOT NULL,
    -- calibrated surprise of each part (0 when the part is not active yet, e.g. while a machine warms up)
    isolation_forest double precision NOT NULL,
    statistical double precision NOT NULL,
    temporal double precision NOT NULL,
    -- worst ISO 10816 zone of the vibration sensors (A..D), null when the machine has none
    iso_zone text CHECK (iso_zone IN ('A', 'B', 'C', 'D')),
    -- 'baseline' (warming up), 'machine' (fitted on this machine's first samples) or '<registry name>@<version>'
    model text NOT NULL,
    -- The three sensors that contributed most, largest first (null when fewer contributed). Contributions are in
    -- score units; all sensors' contributions add up to the score. Plain columns, not arrays: they are written for
    -- every sample, and arrays cost the ingest path about a tenth of its throughput.
    top1_sensor text,
    top1_contribution double precision,
    top2_sensor text,
    top2_contribution double precision,
    top3_sensor text,
    top3_contribution double precision,
    CONSTRAINT anomaly_scores_pkey PRIMARY KEY (tenant_id, machine_id, ts)
);
CREATE INDEX anomaly_scores_anomalies_idx ON pdm.anomaly_scores (tenant_id, ts DESC) WHERE anomaly;

-- The detector state of each machine after its last scored sample. Written in the transaction that stores the
-- scores, and read under FOR UPDATE, so whichever instance gets a machine's next events continues exactly where the
-- last one stopped.
CREATE TABLE pdm.scorer_states (
    tenant_id uuid NOT NULL,
    machine_id text COLLATE "C" NOT NULL,
    model text NOT NULL,
    -- the order the state's sensors are kept in
    sensors text[] NOT NULL,
    last_ts timestamptz NOT NULL,
    samples bigint NOT NULL CHECK (samples >= 0),
    state bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scorer_states_pkey PRIMARY KEY (tenant_id, machine_id)
);

-- The model a machine without a registry model fitted on its own first samples (its warm-up). Tenant data.
CREATE TABLE pdm.machine_anomaly_models (
    tenant_id uuid NOT NULL,
    machine_id text COLLATE "C" NOT NULL,
    fingerprint bigint NOT NULL,
    artifact bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT machine_anomaly_models_pkey PRIMARY KEY (tenant_id, machine_id)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['anomaly_scores', 'scorer_states', 'machine_anomaly_models'] LOOP
        EXECUTE format('ALTER TABLE pdm.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON pdm.%I USING (tenant_id = (SELECT pdm.current_tenant_id())) '
            'WITH CHECK (tenant_id = (SELECT pdm.current_tenant_id()))', t);
        EXECUTE format('CREATE POLICY owner_access ON pdm.%I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;
