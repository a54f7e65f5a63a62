-- A rejected message PostgreSQL cannot hold as text (NUL bytes, invalid UTF-8) or that is too large keeps an escaped
-- or truncated payload here; the original, whole, is a blob in the ingest reject container, named by payload_blob.

ALTER TABLE pdm.rejected_messages ADD COLUMN payload_blob text;

DROP FUNCTION pdm.write_unattributed_reject(text, timestamptz, text, jsonb, text, text);

-- Rejected messages from devices no tenant owns. Returns whether a row was stored (false = replay).
CREATE FUNCTION pdm.write_unattributed_reject(
        p_device_id text, p_received_at timestamptz, p_message_key text, p_errors jsonb, p_payload text, p_source text,
        p_payload_blob text)
    RETURNS boolean
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        WITH stored AS (
            INSERT INTO pdm.rejected_messages (tenant_id, device_id, received_at, message_key, errors, payload, source,
                                               payload_blob)
            VALUES (NULL, p_device_id, p_received_at, p_message_key, p_errors, p_payload, p_source, p_payload_blob)
            ON CONFLICT (message_key) DO NOTHING
            RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM stored)
    $$;
