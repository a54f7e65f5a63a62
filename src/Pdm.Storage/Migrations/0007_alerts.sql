-- Alerts (docs/alerts.md): each tenant's rule set, the evaluation state of each machine or device, the alerts and
-- the events of their transitions, the outbox that publishes those events after commit, and the webhook
-- subscriptions with their dead-lettered deliveries (docs/webhooks.md).
--
-- JSON documents are written by Pdm.Alerts and Pdm.Webhooks and stored as given; the columns beside them are what
-- the queries filter and sort on.

-- One rule set per tenant (a tenant without one uses the defaults). revision is the optimistic-concurrency token (the
-- API's ETag): a write names the revision it read, and a stale one changes nothing.
CREATE TABLE pdm.alert_rule_sets (
    tenant_id uuid PRIMARY KEY REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    document jsonb NOT NULL CHECK (jsonb_typeof(document) = 'object'),
    revision bigint NOT NULL CHECK (revision > 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL
);

-- The rule windows of each machine or device (AlertEvaluationState.ToBytes), read under FOR UPDATE and written in
-- the transaction of what was evaluated, like the scorer state.
CREATE TABLE pdm.alert_states (
    tenant_id uuid NOT NULL REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    subject_kind text NOT NULL CHECK (subject_kind IN ('machine', 'device')),
    subject_id text COLLATE "C" NOT NULL,
    state bytea NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alert_states_pkey PRIMARY KEY (tenant_id, subject_kind, subject_id)
);

-- One row per alert, updated in place through its lifecycle (a reopened alert keeps its id).
CREATE TABLE pdm.alerts (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    subject_kind text NOT NULL CHECK (subject_kind IN ('machine', 'device')),
    subject_id text COLLATE "C" NOT NULL,
    rule_id text NOT NULL,
    rule_kind text NOT NULL,
    severity text NOT NULL CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
    status text NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    flapping boolean NOT NULL,
    count integer NOT NULL CHECK (count > 0),
    opened_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    value double precision NOT NULL,
    peak double precision NOT NULL,
    -- the peak is the lowest value, not the highest (remaining life)
    lower_is_worse boolean NOT NULL,
    firing boolean NOT NULL,
    -- when the rule stopped firing: the quiet period runs from here
    cleared_at timestamptz,
    -- reopenings within the flapping window
    reopenings timestamptz[] NOT NULL DEFAULT '{}',
    explanation jsonb NOT NULL,
    acknowledged_by text,
    acknowledged_at timestamptz,
    acknowledged_comment text,
    resolved_by text,
    resolved_at timestamptz,
    resolved_comment text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alerts_acknowledged_complete CHECK ((acknowledged_by IS NULL) = (acknowledged_at IS NULL)),
    CONSTRAINT alerts_resolved_complete CHECK ((resolved_by IS NULL) = (resolved_at IS NULL)),
    CONSTRAINT alerts_resolved_has_resolution CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
);
-- The lifecycle's rule: at most one unresolved alert per (subject, rule); a repeat updates it.
CREATE UNIQUE INDEX alerts_one_unresolved_idx ON pdm.alerts (tenant_id, subject_kind, subject_id, rule_id)
    WHERE status <> 'resolved';
-- The latest alert of a (subject, rule), resolved or not, for the lifecycle (reopening within the flapping window).
CREATE INDEX alerts_subject_rule_idx ON pdm.alerts (tenant_id, subject_kind, subject_id, rule_id, opened_at DESC);
-- The API's list: newest activity first, cursor (last_seen_at, id).
CREATE INDEX alerts_last_seen_idx ON pdm.alerts (tenant_id, last_seen_at DESC, id DESC);
CREATE INDEX alerts_unresolved_last_seen_idx ON pdm.alerts (tenant_id, last_seen_at DESC, id DESC)
    WHERE status <> 'resolved';

-- Every transition of an alert: the audit trail. id is the event's id, which is also the webhook-id.
CREATE TABLE pdm.alert_events (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    alert_id uuid NOT NULL REFERENCES pdm.alerts (id) ON DELETE CASCADE,
    type text NOT NULL CHECK (type ~ '^[a-z0-9_.]+$'),
    at timestamptz NOT NULL,
    -- the operator, 'system', or null for the rule's own transitions
    actor text,
    payload jsonb NOT NULL
);
CREATE INDEX alert_events_alert_idx ON pdm.alert_events (alert_id, at, id);

-- Events to publish to the Storage queue. Written in the transaction that made them; a publisher claims unpublished
-- rows (FOR UPDATE SKIP LOCKED), enqueues them and sets published_at. A crash before that leaves them unpublished,
-- so they are published again: at least once, and receivers dedupe by event id.
-- payload is json, not jsonb: the exact text that was serialised is what is queued, signed and sent.
CREATE TABLE pdm.alert_outbox (
    event_id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    payload json NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    published_at timestamptz
);
CREATE INDEX alert_outbox_unpublished_idx ON pdm.alert_outbox (created_at, event_id) WHERE published_at IS NULL;

-- Where a tenant's events are delivered. filters: {"severities":[],"eventTypes":[],"machines":[],"machineKinds":[]},
-- an empty or missing list allows everything. Secrets are protected (Pdm.Webhooks' AES-GCM), never stored in clear;
-- during a rotation the previous secret signs too until previous_secret_valid_until.
CREATE TABLE pdm.webhook_subscriptions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    url text NOT NULL CHECK (url ~ '^https?://'),
    description text,
    filters jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(filters) = 'object'),
    secret bytea NOT NULL,
    previous_secret bytea,
    previous_secret_valid_until timestamptz,
    enabled boolean NOT NULL DEFAULT true,
    -- development only: deliveries may reach loopback addresses
    allow_loopback boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_subscriptions_previous_complete
        CHECK ((previous_secret IS NULL) = (previous_secret_valid_until IS NULL))
);
CREATE INDEX webhook_subscriptions_tenant_idx ON pdm.webhook_subscriptions (tenant_id, created_at);

-- Deliveries that failed their last try; payload is the body that was sent, so a replay sends it again unchanged.
CREATE TABLE pdm.webhook_dead_letters (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    subscription_id uuid NOT NULL REFERENCES pdm.webhook_subscriptions (id) ON DELETE CASCADE,
    event_id text NOT NULL,
    payload json NOT NULL,
    attempts integer NOT NULL CHECK (attempts > 0),
    last_error text NOT NULL,
    dead_lettered_at timestamptz NOT NULL DEFAULT now(),
    replayed_at timestamptz,
    -- a delivery dead-lettered twice (the poison queue handled again) is one dead letter
    CONSTRAINT webhook_dead_letters_delivery_key UNIQUE (subscription_id, event_id)
);
CREATE INDEX webhook_dead_letters_tenant_idx ON pdm.webhook_dead_letters (tenant_id, dead_lettered_at DESC, id);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['alert_rule_sets', 'alert_states', 'alerts', 'alert_events', 'alert_outbox',
            'webhook_subscriptions', 'webhook_dead_letters'] LOOP
        EXECUTE format('ALTER TABLE pdm.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON pdm.%I USING (tenant_id = (SELECT pdm.current_tenant_id())) '
            'WITH CHECK (tenant_id = (SELECT pdm.current_tenant_id()))', t);
        EXECUTE format('CREATE POLICY owner_access ON pdm.%I TO CURRENT_USER USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;

-- The publisher serves every tenant, so it claims and marks outbox rows through these two functions (platform paths
-- are SECURITY DEFINER functions, see 0001). The claim's row locks last until the caller's transaction ends.
-- p_tenant_id null = every tenant's rows.
CREATE FUNCTION pdm.claim_alert_outbox(p_limit integer, p_tenant_id uuid)
    RETURNS TABLE (event_id uuid, tenant_id uuid, payload text, created_at timestamptz)
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        SELECT o.event_id, o.tenant_id, o.payload::text, o.created_at FROM pdm.alert_outbox o
        WHERE o.published_at IS NULL AND (p_tenant_id IS NULL OR o.tenant_id = p_tenant_id)
        ORDER BY o.created_at, o.event_id
        LIMIT p_limit
        FOR UPDATE SKIP LOCKED
    $$;

-- Idempotent: rows already published keep their first published_at. Returns how many were marked now.
CREATE FUNCTION pdm.mark_alert_outbox_published(p_event_ids uuid[])
    RETURNS integer
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        WITH marked AS (
            UPDATE pdm.alert_outbox SET published_at = clock_timestamp()
            WHERE event_id = ANY(p_event_ids) AND published_at IS NULL
            RETURNING 1)
        SELECT count(*)::integer FROM marked
    $$;
