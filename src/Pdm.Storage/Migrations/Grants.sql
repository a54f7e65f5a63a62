-- Run after every migration (not versioned): what the application role may do. It owns nothing, cannot bypass
-- row-level security and gets only these rights. The role name comes from set_config('pdm.migrate_app_role', ...).
DO $$
DECLARE
    app_role text := current_setting('pdm.migrate_app_role');
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA pdm TO %I', app_role);
    EXECUTE format('GRANT SELECT ON pdm.tenants TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON pdm.devices TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pdm.machines TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON pdm.machine_kinds TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT ON pdm.readings TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT ON pdm.rejected_messages TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT ON pdm.audit_log TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT ON pdm.anomaly_scores TO %I', app_role);
    -- Ingest notes pending spans; the Rollup timer claims them through pdm.claim_rollup_pending and keeps the rollups.
    EXECUTE format('GRANT INSERT ON pdm.rollup_pending TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pdm.reading_rollups_1m, pdm.reading_rollups_1h, '
        'pdm.score_rollups_1m, pdm.score_rollups_1h, pdm.machine_activity TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pdm.scorer_states TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pdm.machine_anomaly_models TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT ON pdm.predictions TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pdm.alert_rule_sets TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pdm.alert_states TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pdm.alerts TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT ON pdm.alert_events TO %I', app_role);
    -- The publisher claims and marks rows through pdm.claim_alert_outbox and pdm.mark_alert_outbox_published.
    EXECUTE format('GRANT SELECT, INSERT ON pdm.alert_outbox TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON pdm.webhook_subscriptions TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pdm.webhook_dead_letters TO %I', app_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON pdm.webhook_deliveries TO %I', app_role);
    -- Platform-wide and read-only for the app: models are registered and promoted with the owner's connection.
    EXECUTE format('GRANT SELECT ON pdm.models TO %I', app_role);
    -- api_keys and the platform paths are reachable only through the SECURITY DEFINER functions.
    EXECUTE 'REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA pdm FROM PUBLIC';
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pdm TO %I', app_role);
END
$$;
