-- Webhook deliveries (docs/webhooks.md): one row per (subscription, event), written by the outbox publisher in the
-- transaction that marks the outbox rows published, and worked through in order per subscription by DeliverWebhook.
-- Also what an e-mail subscription needs, and the lease that lets one worker at a time deliver a subscription's events.

-- A subscription's url is its endpoint (https, or http where development allows it) or, for the e-mail channel, a
-- mailto: URI with one or more addresses separated by commas (RFC 6068). The channel follows from the url, so an
-- API that writes the url cannot make the two disagree.
ALTER TABLE pdm.webhook_subscriptions DROP CONSTRAINT webhook_subscriptions_url_check;
ALTER TABLE pdm.webhook_subscriptions ADD CONSTRAINT webhook_subscriptions_url_check CHECK (url ~ '^(https?://|mailto:.)');
ALTER TABLE pdm.webhook_subscriptions
    ADD COLUMN channel text NOT NULL GENERATED ALWAYS AS (CASE WHEN url LIKE 'mailto:%' THEN 'email' ELSE 'webhook' END) STORED,
    -- The worker delivering this subscription's events now, and until when its lease holds (renewed per delivery;
    -- a worker that died loses it when it expires). Null: nobody is delivering.
    ADD COLUMN delivery_lease_owner uuid,
    ADD COLUMN delivery_lease_until timestamptz,
    -- Why the subscription was last disabled by delivery (410 Gone), for the API; null when enabled by hand since.
    ADD COLUMN disabled_reason text;

-- order_key is global and increasing in publish order; publishers are serialised (an advisory lock), so each
-- subscription's deliveries are in the order their events were published.
CREATE TABLE pdm.webhook_deliveries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    order_key bigint GENERATED ALWAYS AS IDENTITY,
    tenant_id uuid NOT NULL REFERENCES pdm.tenants (id) ON DELETE CASCADE,
    subscription_id uuid NOT NULL REFERENCES pdm.webhook_subscriptions (id) ON DELETE CASCADE,
    -- the envelope's id ("evt_…"), which is the webhook-id
    event_id text NOT NULL,
    -- the envelope exactly as the outbox stored it; json, not jsonb, so the signed text is the stored text
    body json NOT NULL,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    -- attempts since the delivery was made or last replayed
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    -- not before: a failed head waits here (head-of-line, so the subscription's order holds)
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    CONSTRAINT webhook_deliveries_event_key UNIQUE (subscription_id, event_id),
    CONSTRAINT webhook_deliveries_delivered_complete CHECK ((state = 'delivered') = (delivered_at IS NOT NULL))
);
-- The head of each subscription's queue, and the timer's search for overdue heads.
CREATE INDEX webhook_deliveries_pending_idx ON pdm.webhook_deliveries (subscription_id, order_key) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_tenant_idx ON pdm.webhook_deliveries (tenant_id, created_at);

ALTER TABLE pdm.webhook_deliveries ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pdm.webhook_deliveries USING (tenant_id = (SELECT pdm.current_tenant_id()))
    WITH CHECK (tenant_id = (SELECT pdm.current_tenant_id()));
CREATE POLICY owner_access ON pdm.webhook_deliveries TO CURRENT_USER USING (true) WITH CHECK (true);

-- The timer's safety net, across tenants: enabled subscriptions whose oldest pending delivery has been due for longer
-- than p_overdue and that no live lease covers (the work message was lost: a crash after commit before enqueue, a
-- poisoned message). The head's next_attempt_at is set to now, so the same head is not picked again before p_overdue
-- has passed once more.
CREATE FUNCTION pdm.kick_overdue_webhook_deliveries(p_overdue interval, p_limit integer)
    RETURNS TABLE (tenant_id uuid, subscription_id uuid)
    LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $$
        WITH heads AS (
            SELECT DISTINCT ON (d.subscription_id) d.id, d.tenant_id, d.subscription_id, d.next_attempt_at
            FROM pdm.webhook_deliveries d
            WHERE d.state = 'pending'
            ORDER BY d.subscription_id, d.order_key),
        overdue AS (
            SELECT h.id, h.tenant_id, h.subscription_id FROM heads h
            JOIN pdm.webhook_subscriptions s ON s.id = h.subscription_id
            WHERE s.enabled AND h.next_attempt_at < now() - p_overdue
                AND (s.delivery_lease_until IS NULL OR s.delivery_lease_until < now())
            ORDER BY h.next_attempt_at
            LIMIT p_limit),
        kicked AS (
            UPDATE pdm.webhook_deliveries d SET next_attempt_at = now()
            FROM overdue o WHERE d.id = o.id
            RETURNING d.tenant_id, d.subscription_id)
        SELECT k.tenant_id, k.subscription_id FROM kicked k
    $$;
