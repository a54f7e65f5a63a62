-- Rollups for the dashboard's charts, the record of what arrived that they still lack, each machine's last sample,
-- and retention by dropping whole partitions.
--
-- Per minute and per hour, per machine and sensor: min, max, mean and count of the readings; per machine: the
-- anomaly scores' max and mean and how many samples were anomalous. Ingest only notes, in its own transaction, the
-- time span each batch brought per machine (pdm.rollup_pending, one small row per machine and batch); the Rollup
-- timer claims those notes and recomputes the touched buckets from the raw rows. Recomputing (never adding to) a
-- bucket makes the rollup idempotent and correct for late and replayed data alike.
--
-- The rollup tables are partitioned by month (natively: a table per month and a DEFAULT one) so retention drops a
-- month at a time, like readings a day at a time. Keys lead with the bucket after the machine: a chart reads one
-- machine's range across all its sensors.

-- Anomaly scores become partitioned by day like readings (a hypertable where readings is one), so retention drops
-- them a day at a time too. Rows move over once; the writer's pdm.ensure_reading_partitions makes both tables' days.
DO $$
DECLARE
    part record;
BEGIN
    ALTER TABLE pdm.anomaly_scores RENAME TO anomaly_scores_unpartitioned;
    ALTER INDEX pdm.anomaly_scores_pkey RENAME TO anomaly_scores_unpartitioned_pkey;
    ALTER INDEX pdm.anomaly_scores_anomalies_idx RENAME TO anomaly_scores_unpartitioned_anomalies_idx;
    IF EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'pdm.readings'::regclass) THEN
        CREATE TABLE pdm.anomaly_scores (LIKE pdm.anomaly_scores_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
            CONSTRAINT anomaly_scores_pkey PRIMARY KEY (tenant_id, machine_id, ts)) PARTITION BY RANGE (ts);
        CREATE TABLE pdm.anomaly_scores_default PARTITION OF pdm.anomaly_scores DEFAULT;
        FOR part IN
            SELECT c.relname::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'pdm.readings'::regclass AND c.relname ~ '^readings_p[0-9]{8}$'
        LOOP
            EXECUTE format('CREATE TABLE pdm.%I PARTITION OF pdm.anomaly_scores FOR VALUES FROM (%L) TO (%L)',
                'anomaly_scores_p' || substr(part.name, 11),
                substr(part.name, 11)::date::timestamp AT TIME ZONE 'UTC',
                (substr(part.name, 11)::date + 1)::timestamp AT TIME ZONE 'UTC');
        END LOOP;
    ELSE
        CREATE TABLE pdm.anomaly_scores (LIKE pdm.anomaly_scores_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
            CONSTRAINT anomaly_scores_pkey PRIMARY KEY (tenant_id, machine_id, ts));
        PERFORM create_hypertable('pdm.anomaly_scores', 'ts', chunk_time_interval => interval '1 day');
    END IF;
    CREATE INDEX anomaly_scores_anomalies_idx ON pdm.anomaly_scores (tenant_id, ts DESC) WHERE anomaly;
    INSERT INTO pdm.anomaly_scores SELECT * FROM pdm.anomaly_scores_unpartitioned;
    DROP TABLE pdm.anomaly_scores_unpartitioned;
    ALTER TABLE pdm.anomaly_scores ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
    CREATE POLICY tenant_isolation ON pdm.anomaly_scores
        USING (tenant_id = (SELECT pdm.current_tenant_id())) WITH CHECK (tenant_id = (SELECT pdm.current_tenant_id()));
    CREATE POLICY owner_access ON pdm.anomaly_scores TO CURRENT_USER USING (true) WITH CHECK (true);
END
$$;

-- The writer's partition maker now makes each day for readings and anomaly scores alike (see 0002 for the rest).
CREATE OR REPLACE FUNCTION pdm.ensure_reading_partitions(p_from timestamptz, p_to timestamptz)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET timezone = 'UTC'
    AS $$
DECLARE
    d_start timestamptz;
    parent text;
    partition_name text;
    created integer := 0;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'pdm.readings'::regclass) THEN
        RETURN 0;
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_to < p_from THEN
        RAISE EXCEPTION 'ensure_reading_partitions: invalid range % .. %', p_from, p_to;
    END IF;
    IF p_to - p_from > interval '3700 days' THEN
        RAISE EXCEPTION 'ensure_reading_partitions: range % .. % spans more than ten years', p_from, p_to;
    END IF;

    d_start := date_trunc('day', p_from);
    WHILE d_start <= p_to LOOP
        FOREACH parent IN ARRAY ARRAY['readings', 'anomaly_scores'] LOOP
            partition_name := parent || '_p' || to_char(d_start, 'YYYYMMDD');
            IF to_regclass('pdm.' || partition_name) IS NULL THEN
                -- Serializes creators, and ATTACH needs this lock anyway to check the default partition.
                EXECUTE format('LOCK TABLE pdm.%I IN ACCESS EXCLUSIVE MODE', parent || '_default');
                IF to_regclass('pdm.' || partition_name) IS NULL THEN
                    EXECUTE format('CREATE TABLE pdm.%I (LIKE pdm.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                        partition_name, parent);
                    EXECUTE format(
                        'WITH moved AS (DELETE FROM pdm.%I WHERE ts >= $1 AND ts < $2 RETURNING *) '
                        'INSERT INTO pdm.%I SELECT * FROM moved', parent || '_default', partition_name)
                        USING d_start, d_start + interval '1 day';
                    EXECUTE format('ALTER TABLE pdm.%I ATTACH PARTITION pdm.%I FOR VALUES FROM (%L) TO (%L)',
                        parent, partition_name, d_start, d_start + interval '1 day');
                    IF parent = 'readings' THEN
                        created := created + 1;
                    END IF;
                END IF;
            END IF;
        END LOOP;
        d_start := d_start + interval '1 day';
    END LOOP;
    RETURN created;
END
$$;

CREATE TABLE pdm.reading_rollups_1m (
    tenant_id uuid NOT NULL,
    machine_id text COLLATE "C" NOT NULL,
    bucket timestamptz NOT NULL,
    sensor text COLLATE "C" NOT NULL,
    min double precision NOT NULL,
    max double precision NOT NULL,
    mean double precision NOT NULL,
    count integer NOT NULL CHECK (count > 0),
    CONSTRAINT reading_rollups_1m_pkey PRIMARY KEY (tenant_id, machine_id, bucket, sensor)
) PARTITION BY RANGE (bucket);
CREATE TABLE pdm.reading_rollups_1m_default PARTITION OF pdm.reading_rollups_1m DEFAULT;

CREATE TABLE pdm.reading_rollups_1h (
    tenant_id uuid NOT NULL,
    machine_id text COLLATE "C" NOT NULL,
    bucket timestamptz NOT NULL,
    sensor text COLLATE "C" NOT NULL,
    min double precision NOT NULL,
    max double precision NOT NULL,
    mean double precision NOT NULL,
    count integer NOT NULL CHECK (count > 0),
    -- how many minute buckets of this hour hold values: the point count a per-minute chart of the hour would have
    minutes integer NOT NULL CHECK (minutes BETWEEN 1 AND 60),
    CONSTRAINT reading_rollups_1h_pkey PRIMARY KEY (tenant_id, machine_id, bucket, sensor)
) PARTITION BY RANGE (bucket);
CREATE TABLE pdm.reading_rollups_1h_default PARTITION OF pdm.reading_rollups_1h DEFAULT;

CREATE TABLE pdm.score_rollups_1m (
    tenant_id uuid NOT NULL,
    machine_id text COLLATE "C" NOT NULL,
    bucket timestamptz NOT NULL,
    max_score double precision NOT NULL,
    mean_score double precision NOT NULL,
    anomalies integer NOT NULL CHECK (anomalies >= 0),
    count integer NOT NULL CHECK (count > 0),
    CONSTRAINT score_rollups_1m_pkey PRIMARY KEY (tenant_id, machine_id, bucket)
) PARTITION BY RANGE (bucket);
CREATE TABLE pdm.score_rollups_1m_default PARTITION OF pdm.score_rollups_1m DEFAULT;

CREATE TABLE pdm.score_rollups_1h (
    tenant_id uuid NOT NULL,
    machine_id text COLLATE "C" NOT NULL,
    bucket timestamptz NOT NULL,
    max_score double precision NOT NULL,
    mean_score double precision NOT NULL,
    anomalies integer NOT NULL CHECK (anomalies >= 0),
    count integer NOT NULL CHECK (count > 0),
    CONSTRAINT score_rollups_1h_pkey PRIMARY KEY (tenant_id, machine_id, bucket)
) PARTITION BY RANGE (bucket);
CREATE TABLE pdm.score_rollups_1h_default PARTITION OF pdm.score_rollups_1h DEFAULT;

-- What ingest stored and the rollups do not cover yet: one row per machine and write, the span of its timestamps.
-- No key and no index: ingest only appends, the Rollup timer claims everything at once.
CREATE TABLE pdm.rollup_pending (
    tenant_id uuid NOT NULL,
    machine_id text COLLATE "C" NOT NULL,
    from_ts timestamptz NOT NULL,
    to_ts timestamptz NOT NULL CHECK (to_ts >= from_ts),
    -- the sensors the write brought, so the rollup reads exactly their index ranges
    sensors text[] NOT NULL
);

-- The latest reading timestamp of each machine, kept by the Rollup timer (the fleet view's "last seen").
CREATE TABLE pdm.machine_activity (
    tenant_id uuid NOT NULL,
    machine_id text COLLATE "C" NOT NULL,
    last_seen timestamptz NOT NULL,
    CONSTRAINT machine_activity_pkey PRIMARY KEY (tenant_id, machine_id)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['reading_rollups_1m', 'reading_rollups_1h', 'score_rollups_1m', 'score_rollups_1h',
                             'rollup_pending', 'machine_activity'] LOOP
        EXECUTE format('ALTER TABLE pdm.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON pdm.%I USING (tenant_id = (SELECT pdm.current_tenant_id())) '
            'WITH CHECK (tenant_id = (SELECT pdm.current_tenant_id()))', t);
        EXECUTE format('CREATE POLICY owner_access ON pdm.%I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;

-- Takes up to p_limit pending spans of all tenants (locked until the caller's transaction ends, skipping spans another
-- run holds) and deletes them; they come back if that transaction rolls back. SECURITY DEFINER: the Rollup timer
-- runs for every tenant, and what it then reads and writes it does with each tenant set in turn.
CREATE FUNCTION pdm.claim_rollup_pending(p_limit integer)
    RETURNS TABLE (tenant_id uuid, machine_id text, from_ts timestamptz, to_ts timestamptz, sensors text[])
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        WITH claimed AS (
            SELECT p.ctid AS row_id FROM pdm.rollup_pending p LIMIT p_limit FOR UPDATE SKIP LOCKED),
        deleted AS (
            DELETE FROM pdm.rollup_pending p USING claimed c WHERE p.ctid = c.row_id
            RETURNING p.tenant_id, p.machine_id, p.from_ts, p.to_ts, p.sensors)
        SELECT * FROM deleted
    $$;

-- Creates the missing monthly partitions (UTC months) of a rollup table covering [p_from, p_to]; returns how many it
-- made. Rows already in the DEFAULT partition for such a month are moved into it.
CREATE FUNCTION pdm.ensure_rollup_partitions(p_table text, p_from timestamptz, p_to timestamptz)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET timezone = 'UTC'
    AS $$
DECLARE
    m_start timestamptz;
    partition_name text;
    created integer := 0;
BEGIN
    IF p_table NOT IN ('reading_rollups_1m', 'reading_rollups_1h', 'score_rollups_1m', 'score_rollups_1h') THEN
        RAISE EXCEPTION 'ensure_rollup_partitions: % is not a rollup table', p_table;
    END IF;
    IF p_from IS NULL OR p_to IS NULL OR p_to < p_from OR p_to - p_from > interval '3700 days' THEN
        RAISE EXCEPTION 'ensure_rollup_partitions: invalid range % .. %', p_from, p_to;
    END IF;
    m_start := date_trunc('month', p_from);
    WHILE m_start <= p_to LOOP
        partition_name := p_table || '_p' || to_char(m_start, 'YYYYMM');
        IF to_regclass('pdm.' || partition_name) IS NULL THEN
            EXECUTE format('LOCK TABLE pdm.%I IN ACCESS EXCLUSIVE MODE', p_table || '_default');
            IF to_regclass('pdm.' || partition_name) IS NULL THEN
                EXECUTE format('CREATE TABLE pdm.%I (LIKE pdm.%I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition_name, p_table);
                EXECUTE format(
                    'WITH moved AS (DELETE FROM pdm.%I WHERE bucket >= $1 AND bucket < $2 RETURNING *) '
                    'INSERT INTO pdm.%I SELECT * FROM moved', p_table || '_default', partition_name)
                    USING m_start, m_start + interval '1 month';
                EXECUTE format('ALTER TABLE pdm.%I ATTACH PARTITION pdm.%I FOR VALUES FROM (%L) TO (%L)',
                    p_table, partition_name, m_start, m_start + interval '1 month');
                created := created + 1;
            END IF;
        END IF;
        m_start := m_start + interval '1 month';
    END LOOP;
    RETURN created;
END
$$;

-- Retention: removes what is older than p_cutoff from one time-partitioned table by dropping every partition that
-- ends at or before the cutoff (a hypertable: its chunks), and deletes the DEFAULT partition's rows older than the
-- cutoff (normally none: it only catches rows outside the partitions). A partition that straddles the cutoff is
-- kept whole. Returns the names of the dropped partitions (for a hypertable, its chunks).
CREATE FUNCTION pdm.drop_partitions_before(p_table text, p_cutoff timestamptz)
    RETURNS text[]
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET timezone = 'UTC'
    AS $$
DECLARE
    time_column text;
    part record;
    upper_bound timestamptz;
    dropped text[] := '{}';
BEGIN
    time_column := CASE p_table
        WHEN 'readings' THEN 'ts'
        WHEN 'anomaly_scores' THEN 'ts'
        WHEN 'reading_rollups_1m' THEN 'bucket'
        WHEN 'reading_rollups_1h' THEN 'bucket'
        WHEN 'score_rollups_1m' THEN 'bucket'
        WHEN 'score_rollups_1h' THEN 'bucket'
    END;
    IF time_column IS NULL THEN
        RAISE EXCEPTION 'drop_partitions_before: % has no retention', p_table;
    END IF;
    IF p_cutoff IS NULL THEN
        RAISE EXCEPTION 'drop_partitions_before: no cutoff';
    END IF;

    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') AND EXISTS (
            SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'pdm' AND c.relname = p_table AND NOT EXISTS (
                SELECT 1 FROM pg_partitioned_table pt WHERE pt.partrelid = c.oid))
       AND EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhparent = format('pdm.%I', p_table)::regclass) THEN
        -- A hypertable (readings with TimescaleDB): its chunks are its partitions.
        EXECUTE format('SELECT coalesce(array_agg(c::text), ''{}'') FROM drop_chunks(%L, older_than => $1) c',
            'pdm.' || p_table) INTO dropped USING p_cutoff;
        RETURN dropped;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = format('pdm.%I', p_table)::regclass) THEN
        RAISE EXCEPTION 'drop_partitions_before: pdm.% is not partitioned', p_table;
    END IF;

    FOR part IN
        SELECT c.relname::text AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = format('pdm.%I', p_table)::regclass
        ORDER BY c.relname
    LOOP
        IF part.bound = 'DEFAULT' THEN
            EXECUTE format('DELETE FROM pdm.%I WHERE %I < $1', part.name, time_column) USING p_cutoff;
            CONTINUE;
        END IF;
        upper_bound := substring(part.bound FROM 'TO \(''([^'']+)''\)')::timestamptz;
        IF upper_bound IS NOT NULL AND upper_bound <= p_cutoff THEN
            EXECUTE format('DROP TABLE pdm.%I', part.name);
            dropped := dropped || part.name;
        END IF;
    END LOOP;
    RETURN dropped;
END
$$;
