-- Health, remaining useful life and failure probabilities per machine, written by the Predict timer.
--
-- One row per machine and prediction time. The numbers a model could not give (no RUL model for the machine's
-- sensors) are null. The explanation keeps the sensors that drove each number, so the API can say why without
-- recomputing anything; models names the registry versions ('<name>@<version>') that made the prediction.

CREATE TABLE pdm.predictions (
    tenant_id uuid NOT NULL,
    machine_id text COLLATE "C" NOT NULL,
    at timestamptz NOT NULL,
    -- HEALTHY, WARNING, FAULTY, BROKEN (or a state model's own labels), UNKNOWN when nothing is known
    health text NOT NULL,
    -- {"HEALTHY": 0.93, ...} when a state model decided, {} otherwise
    health_probabilities jsonb NOT NULL,
    -- seconds on the readings' clock; p10/p90 from the model's validation residuals
    rul_seconds double precision CHECK (rul_seconds >= 0),
    rul_p10_seconds double precision,
    rul_p90_seconds double precision,
    failure_probability_24h double precision CHECK (failure_probability_24h BETWEEN 0 AND 1),
    failure_probability_48h double precision CHECK (failure_probability_48h BETWEEN 0 AND 1),
    risk text NOT NULL CHECK (risk IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
    explanation jsonb NOT NULL,
    models text NOT NULL,
    CONSTRAINT predictions_pkey PRIMARY KEY (tenant_id, machine_id, at)
);

ALTER TABLE pdm.predictions ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pdm.predictions
    USING (tenant_id = (SELECT pdm.current_tenant_id())) WITH CHECK (tenant_id = (SELECT pdm.current_tenant_id()));
CREATE POLICY owner_access ON pdm.predictions TO CURRENT_USER USING (true) WITH CHECK (true);
