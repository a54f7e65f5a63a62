-- Sensor readings, one row per value, partitioned by time.
--
-- With the timescaledb extension available (Azure: allow-listed in azure.extensions and preloaded), readings is a
-- hypertable with daily chunks. Otherwise it is natively RANGE-partitioned by day: partitions are made ahead of
-- time by pdm.ensure_reading_partitions, and the DEFAULT partition catches anything outside them so no row is lost.
-- The migrator sets pdm.migrate_timescaledb to 'off' to force native partitioning.
--
-- The primary key is the idempotency key: a replayed reading is ignored (INSERT ... ON CONFLICT DO NOTHING).
-- Its text columns use the "C" collation: byte-wise comparison keeps the hot ingest index cheap, and ids have no
-- linguistic order anyway.

DO $$
BEGIN
    IF coalesce(nullif(current_setting('pdm.migrate_timescaledb', true), ''), 'auto') <> 'off'
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        CREATE TABLE pdm.readings (
            tenant_id uuid NOT NULL,
            machine_id text COLLATE "C" NOT NULL,
            sensor text COLLATE "C" NOT NULL,
            ts timestamptz NOT NULL,
            value double precision NOT NULL,
            seq bigint NOT NULL,
            CONSTRAINT readings_pkey PRIMARY KEY (tenant_id, machine_id, sensor, ts)
        );
        PERFORM create_hypertable('pdm.readings', 'ts', chunk_time_interval => interval '1 day');
    ELSE
        CREATE TABLE pdm.readings (
            tenant_id uuid NOT NULL,
            machine_id text COLLATE "C" NOT NULL,
            sensor text COLLATE "C" NOT NULL,
            ts timestamptz NOT NULL,
            value double precision NOT NULL,
            seq bigint NOT NULL,
            CONSTRAINT readings_pkey PRIMARY KEY (tenant_id, machine_id, sensor, ts)
        ) PARTITION BY RANGE (ts);
        CREATE TABLE pdm.readings_default PARTITION OF pdm.readings DEFAULT;
    END IF;
END
$$;

ALTER TABLE pdm.readings ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pdm.readings
    USING (tenant_id = (SELECT pdm.current_tenant_id())) WITH CHECK (tenant_id = (SELECT pdm.current_tenant_id()));
CREATE POLICY owner_access ON pdm.readings TO CURRENT_USER USING (true) WITH CHECK (true);

-- Creates the missing daily partitions (UTC days) covering [p_from, p_to] and returns how many it made. Rows that
-- already sit in the DEFAULT partition for such a day are moved into the new partition. A no-op on a hypertable.
-- SECURITY DEFINER so the ingest writer (app role) can call it; the partitions belong to the owner and the app has
-- no privileges on them, so reads and writes always go through pdm.readings and its policies.
CREATE FUNCTION pdm.ensure_reading_partitions(p_from timestamptz, p_to timestamptz)
    RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET timezone = 'UTC'
    AS $$
DECLARE
    d_start timestamptz;
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
        partition_name := 'readings_p' || to_char(d_start, 'YYYYMMDD');
        IF to_regclass('pdm.' || partition_name) IS NULL THEN
            -- Serializes creators, and ATTACH needs this lock anyway to check the default partition.
            LOCK TABLE pdm.readings_default IN ACCESS EXCLUSIVE MODE;
            IF to_regclass('pdm.' || partition_name) IS NULL THEN
                EXECUTE format('CREATE TABLE pdm.%I (LIKE pdm.readings INCLUDING DEFAULTS)', partition_name);
                EXECUTE format(
                    'WITH moved AS (DELETE FROM pdm.readings_default WHERE ts >= $1 AND ts < $2 RETURNING *) '
                    'INSERT INTO pdm.%I SELECT * FROM moved', partition_name)
                    USING d_start, d_start + interval '1 day';
                EXECUTE format('ALTER TABLE pdm.readings ATTACH PARTITION pdm.%I FOR VALUES FROM (%L) TO (%L)',
                    partition_name, d_start, d_start + interval '1 day');
                created := created + 1;
            END IF;
        END IF;
        d_start := d_start + interval '1 day';
    END LOOP;
    RETURN created;
END
$$;
