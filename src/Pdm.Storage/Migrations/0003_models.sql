-- Model registry: one row per trained model version. The artifact itself is a blob (content-addressed by its
-- SHA-256); this table holds what it is, how it was made and which stage it is in.
--
-- Models are platform-wide, not tenant data, so there is no row-level security. The application role only reads
-- (the function app loads the production version); registering and promoting need the owner's connection.

CREATE TABLE pdm.models (
    -- lower-case, usable as a blob path segment and on a command line
    name text COLLATE "C" NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    version integer NOT NULL CHECK (version > 0),
    kind text NOT NULL CHECK (length(btrim(kind)) > 0),
    stage text NOT NULL DEFAULT 'staging' CHECK (stage IN ('staging', 'production', 'archived')),
    artifact_blob text NOT NULL CHECK (length(artifact_blob) > 0),
    -- checked again on every load, so a blob replaced or damaged behind the registry's back is never served
    artifact_sha256 bytea NOT NULL CHECK (length(artifact_sha256) = 32),
    artifact_size bigint NOT NULL CHECK (artifact_size >= 0),
    training_data_hash text NOT NULL,
    metrics jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metrics) = 'object'),
    parameters jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(parameters) = 'object'),
    created_at timestamptz NOT NULL DEFAULT now(),
    stage_changed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT models_pkey PRIMARY KEY (name, version)
);

-- At most one production version per name: promotion archives the previous one in the same transaction.
CREATE UNIQUE INDEX models_one_production_idx ON pdm.models (name) WHERE stage = 'production';
