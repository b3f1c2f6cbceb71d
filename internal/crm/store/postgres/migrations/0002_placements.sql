-- 0002_placements: a placement records a hire. Runs as the schema owner,
-- inside Migrate's transaction, like 0001.
--
-- Every move of an application to hired writes exactly one placement, in
-- the move's transaction; the unique (tenant_id, application_id) makes a
-- second one impossible. Like every table, it carries tenant_id, every
-- foreign key includes it, and row-level security is enabled and forced.
-- Optional details are NULL (start_date, created_by), 0 (salary, fee) or ''
-- (currency).

CREATE TABLE placements (
    tenant_id      text NOT NULL,
    id             text NOT NULL,
    application_id text NOT NULL,
    job_id         text NOT NULL,
    person_id      text NOT NULL,
    start_date     timestamptz,
    salary         bigint NOT NULL CHECK (salary >= 0),
    fee            bigint NOT NULL CHECK (fee >= 0),
    currency       text NOT NULL CHECK (currency = '' OR currency ~ '^[A-Z]{3}$'),
    created_by     text,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT placements_application_key UNIQUE (tenant_id, application_id),
    CONSTRAINT placements_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CONSTRAINT placements_application_fk FOREIGN KEY (tenant_id, application_id) REFERENCES applications (tenant_id, id),
    CONSTRAINT placements_job_fk FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id),
    CONSTRAINT placements_person_fk FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id),
    CONSTRAINT placements_created_by_fk FOREIGN KEY (tenant_id, created_by) REFERENCES users (tenant_id, id)
);
CREATE INDEX placements_job_idx ON placements (tenant_id, job_id, created_at DESC);
CREATE INDEX placements_person_idx ON placements (tenant_id, person_id, created_at DESC);

-- Backfill: applications hired before this migration get a placement
-- without details, stamped with the move to hired (its time and user) or,
-- without one, the application's last update. The owner is held by FORCE
-- ROW LEVEL SECURITY and has no tenant set, so it would see no
-- applications: FORCE is lifted on the two tables read, and on placements
-- (not yet forced), only for this statement, inside this transaction, and
-- set again below before anything commits.
ALTER TABLE applications NO FORCE ROW LEVEL SECURITY;
ALTER TABLE stage_changes NO FORCE ROW LEVEL SECURITY;
INSERT INTO placements (tenant_id, id, application_id, job_id, person_id, start_date, salary, fee, currency, created_by, created_at)
SELECT a.tenant_id, 'plc_' || replace(gen_random_uuid()::text, '-', ''), a.id, a.job_id, a.person_id, NULL, 0, 0, '',
    h.user_id, coalesce(h.at, a.updated_at)
FROM applications AS a
LEFT JOIN LATERAL (
    SELECT sc.user_id, sc.at FROM stage_changes AS sc
    WHERE sc.tenant_id = a.tenant_id AND sc.application_id = a.id AND sc.to_stage = 'hired'
    ORDER BY sc.seq DESC LIMIT 1
) AS h ON true
WHERE a.stage = 'hired';
ALTER TABLE applications FORCE ROW LEVEL SECURITY;
ALTER TABLE stage_changes FORCE ROW LEVEL SECURITY;

-- Row-level security, exactly as 0001 sets it for every table.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['placements'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
                       'USING (tenant_id = current_setting(''app.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', t);
    END LOOP;
END
$$;

-- The application role: placements are written once and never changed or
-- deleted, so it may only read and insert them.
GRANT SELECT, INSERT ON placements TO @APP_ROLE@;
