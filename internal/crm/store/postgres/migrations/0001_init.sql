-- 0001_init: the CRM schema, row-level security and the application role's
-- privileges. Runs as the schema owner, inside Migrate's transaction.
--
-- Every table carries tenant_id; primary keys are (tenant_id, id) and every
-- foreign key includes tenant_id, so a row can only ever reference a row of
-- its own tenant. Optional references are NULL (never '').

-- Helpers for generated columns: array_to_string and array_agg are not
-- marked IMMUTABLE, though for text[] they are.
CREATE FUNCTION crm_join(a text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce(pg_catalog.array_to_string(a, ' '), '');

CREATE FUNCTION crm_lower_all(a text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN coalesce((SELECT pg_catalog.array_agg(pg_catalog.lower(x)) FROM pg_catalog.unnest(a) AS x), '{}');

CREATE TABLE tenants (
    tenant_id  text PRIMARY KEY CHECK (tenant_id <> ''),
    name       text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE users (
    tenant_id     text NOT NULL,
    id            text NOT NULL,
    email         text NOT NULL,
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'recruiter', 'viewer')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    -- Login looks users up by email across tenants.
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id)
);

CREATE TABLE companies (
    tenant_id   text NOT NULL,
    id          text NOT NULL,
    name        text NOT NULL,
    domain      text NOT NULL,
    industry    text NOT NULL,
    location    text NOT NULL,
    size        text NOT NULL,
    description text NOT NULL,
    owner_id    text,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    search      tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, name), 'A') ||
        setweight(to_tsvector('english'::regconfig, domain || ' ' || industry), 'B') ||
        setweight(to_tsvector('english'::regconfig, description), 'C')
    ) STORED,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT companies_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CONSTRAINT companies_owner_fk FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX companies_search_idx ON companies USING gin (search);
CREATE INDEX companies_updated_idx ON companies (tenant_id, updated_at DESC, id);

CREATE TABLE people (
    tenant_id       text NOT NULL,
    id              text NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('candidate', 'contact')),
    first_name      text NOT NULL,
    last_name       text NOT NULL,
    headline        text NOT NULL,
    emails          text[] NOT NULL,
    phones          text[] NOT NULL,
    location        text NOT NULL,
    current_title   text NOT NULL,
    current_company text NOT NULL,
    company_id      text,
    skills          text[] NOT NULL,
    source          text NOT NULL,
    tags            text[] NOT NULL,
    owner_id        text,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    -- notes_doc holds the lexemes of every note about the person; AddNote
    -- appends to it in the note's transaction.
    notes_doc       tsvector NOT NULL DEFAULT '',
    skills_norm     text[] GENERATED ALWAYS AS (crm_lower_all(skills)) STORED,
    search          tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, first_name || ' ' || last_name), 'A') ||
        setweight(to_tsvector('english'::regconfig, crm_join(skills)), 'A') ||
        setweight(to_tsvector('english'::regconfig, headline || ' ' || current_title), 'B') ||
        setweight(to_tsvector('english'::regconfig, current_company), 'B') ||
        setweight(notes_doc, 'D')
    ) STORED,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT people_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CONSTRAINT people_company_fk FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    CONSTRAINT people_owner_fk FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX people_search_idx ON people USING gin (search);
CREATE INDEX people_skills_idx ON people USING gin (skills_norm);
CREATE INDEX people_updated_idx ON people (tenant_id, updated_at DESC, id);
CREATE INDEX people_company_idx ON people (tenant_id, company_id);
CREATE INDEX people_owner_idx ON people (tenant_id, owner_id);

CREATE TABLE jobs (
    tenant_id         text NOT NULL,
    id                text NOT NULL,
    company_id        text NOT NULL,
    -- company_name is the company's name, kept in step by UpdateCompany, so
    -- that job search covers it with an index.
    company_name      text NOT NULL,
    title             text NOT NULL,
    status            text NOT NULL CHECK (status IN ('open', 'on_hold', 'filled', 'closed')),
    location          text NOT NULL,
    salary_min        bigint NOT NULL CHECK (salary_min >= 0),
    salary_max        bigint NOT NULL CHECK (salary_max >= 0),
    currency          text NOT NULL,
    description       text NOT NULL,
    hiring_manager_id text,
    owner_id          text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    search            tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A') ||
        setweight(to_tsvector('english'::regconfig, company_name), 'B') ||
        setweight(to_tsvector('english'::regconfig, description), 'C')
    ) STORED,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT jobs_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CONSTRAINT jobs_company_fk FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    CONSTRAINT jobs_hiring_manager_fk FOREIGN KEY (tenant_id, hiring_manager_id) REFERENCES people (tenant_id, id),
    CONSTRAINT jobs_owner_fk FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX jobs_search_idx ON jobs USING gin (search);
CREATE INDEX jobs_updated_idx ON jobs (tenant_id, updated_at DESC, id);
CREATE INDEX jobs_company_idx ON jobs (tenant_id, company_id);

CREATE TABLE applications (
    tenant_id     text NOT NULL,
    id            text NOT NULL,
    job_id        text NOT NULL,
    person_id     text NOT NULL,
    stage         text NOT NULL CHECK (stage IN ('sourced', 'screening', 'interview', 'offer', 'hired', 'rejected')),
    reject_reason text NOT NULL,
    owner_id      text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    -- seq orders rows created within the same instant.
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT applications_job_person_key UNIQUE (tenant_id, job_id, person_id),
    CONSTRAINT applications_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CONSTRAINT applications_job_fk FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id),
    CONSTRAINT applications_person_fk FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id),
    CONSTRAINT applications_owner_fk FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX applications_person_idx ON applications (tenant_id, person_id);
CREATE INDEX applications_stage_idx ON applications (tenant_id, stage, person_id);
CREATE INDEX applications_owner_idx ON applications (tenant_id, owner_id);

CREATE TABLE stage_changes (
    tenant_id      text NOT NULL,
    application_id text NOT NULL,
    seq            integer NOT NULL,
    from_stage     text NOT NULL CHECK (from_stage IN ('', 'sourced', 'screening', 'interview', 'offer', 'hired', 'rejected')),
    to_stage       text NOT NULL CHECK (to_stage IN ('sourced', 'screening', 'interview', 'offer', 'hired', 'rejected')),
    at             timestamptz NOT NULL,
    user_id        text,
    reason         text NOT NULL,
    PRIMARY KEY (tenant_id, application_id, seq),
    CONSTRAINT stage_changes_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CONSTRAINT stage_changes_application_fk FOREIGN KEY (tenant_id, application_id) REFERENCES applications (tenant_id, id),
    CONSTRAINT stage_changes_user_fk FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);

CREATE TABLE notes (
    tenant_id  text NOT NULL,
    id         text NOT NULL,
    person_id  text,
    company_id text,
    job_id     text,
    body       text NOT NULL,
    author_id  text,
    created_at timestamptz NOT NULL,
    seq        bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT notes_subject_check CHECK (num_nonnulls(person_id, company_id, job_id) > 0),
    CONSTRAINT notes_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CONSTRAINT notes_person_fk FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id),
    CONSTRAINT notes_company_fk FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    CONSTRAINT notes_job_fk FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id),
    CONSTRAINT notes_author_fk FOREIGN KEY (tenant_id, author_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX notes_person_idx ON notes (tenant_id, person_id, created_at DESC, seq DESC);
CREATE INDEX notes_company_idx ON notes (tenant_id, company_id, created_at DESC, seq DESC);
CREATE INDEX notes_job_idx ON notes (tenant_id, job_id, created_at DESC, seq DESC);

CREATE TABLE activities (
    tenant_id   text NOT NULL,
    id          text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('call', 'email', 'meeting')),
    person_id   text NOT NULL,
    job_id      text,
    summary     text NOT NULL,
    occurred_at timestamptz NOT NULL,
    user_id     text,
    created_at  timestamptz NOT NULL,
    seq         bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT activities_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CONSTRAINT activities_person_fk FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id),
    CONSTRAINT activities_job_fk FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id),
    CONSTRAINT activities_user_fk FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id)
);
CREATE INDEX activities_person_idx ON activities (tenant_id, person_id, occurred_at DESC);

CREATE TABLE tasks (
    tenant_id    text NOT NULL,
    id           text NOT NULL,
    title        text NOT NULL,
    due_at       timestamptz,
    done         boolean NOT NULL,
    completed_at timestamptz,
    assignee_id  text NOT NULL,
    person_id    text,
    job_id       text,
    created_at   timestamptz NOT NULL,
    seq          bigint GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT tasks_tenant_fk FOREIGN KEY (tenant_id) REFERENCES tenants (tenant_id),
    CONSTRAINT tasks_assignee_fk FOREIGN KEY (tenant_id, assignee_id) REFERENCES users (tenant_id, id),
    CONSTRAINT tasks_person_fk FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id),
    CONSTRAINT tasks_job_fk FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id)
);
CREATE INDEX tasks_assignee_idx ON tasks (tenant_id, assignee_id, done);
CREATE INDEX tasks_person_idx ON tasks (tenant_id, person_id);

-- Row-level security. FORCE applies the policies to the table owner too;
-- only superusers and BYPASSRLS roles skip them, and Open refuses both. The
-- setting is read with missing_ok, so a connection with no tenant set sees
-- and writes nothing (NULL never equals a tenant id).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenants', 'users', 'companies', 'people', 'jobs', 'applications',
                             'stage_changes', 'notes', 'activities', 'tasks'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I '
                       'USING (tenant_id = current_setting(''app.tenant_id'', true)) '
                       'WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', t);
    END LOOP;
END
$$;

-- The owner is subject to FORCE ROW LEVEL SECURITY too. The functions below
-- run as the owner, so it reads users and people through SELECT-only
-- policies of its own (no-ops when the owner is a superuser). Nobody logs
-- in as the owner in production, and the owner can lift row-level security
-- anyway.
CREATE POLICY owner_read ON users FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY owner_read ON people FOR SELECT TO CURRENT_USER USING (true);

-- Login (UserByEmail) is the one lookup without a tenant. The application
-- role cannot read users across tenants; it may only call this function,
-- which runs as the owner and returns the one user with that email.

CREATE FUNCTION crm_user_by_email(p_email text)
RETURNS TABLE (id text, tenant_id text, email text, name text, role text, password_hash text, created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.id, u.tenant_id, u.email, u.name, u.role, u.password_hash, u.created_at
    FROM @SCHEMA@.users AS u
    WHERE u.email = p_email
$$;
REVOKE ALL ON FUNCTION crm_user_by_email(text) FROM PUBLIC;

-- Index access for people search. Under row-level security PostgreSQL
-- evaluates the policy before any qual whose operator is not LEAKPROOF, so
-- it cannot use an index for @@ (full text) or @> (skills) on people and
-- scans every row of the tenant instead (only a superuser can mark
-- functions LEAKPROOF). These two functions run the indexed match as the
-- owner, whose policy is plain true, and are bound to the same tenant as
-- the policies: current_setting('app.tenant_id', true), set by the calling
-- transaction; no tenant, no rows. Callers join the ids back to people,
-- where the policies apply again.
CREATE FUNCTION crm_people_matching(q tsquery)
RETURNS TABLE (id text, rank real)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 100
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.id, ts_rank_cd(p.search, q)
    FROM @SCHEMA@.people AS p
    WHERE p.tenant_id = current_setting('app.tenant_id', true) AND p.search @@ q
$$;
REVOKE ALL ON FUNCTION crm_people_matching(tsquery) FROM PUBLIC;

-- (Parameter names must not be column names: in SQL functions the column
-- wins.)
CREATE FUNCTION crm_people_with_skills(wanted text[])
RETURNS TABLE (id text)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 100
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.id
    FROM @SCHEMA@.people AS p
    WHERE p.tenant_id = current_setting('app.tenant_id', true) AND p.skills_norm @> wanted
$$;
REVOKE ALL ON FUNCTION crm_people_with_skills(text[]) FROM PUBLIC;

-- The application role: least privilege. Nothing in the Store deletes, so
-- no table grants DELETE; tenants are only created and read.
GRANT USAGE ON SCHEMA @SCHEMA@ TO @APP_ROLE@;
GRANT SELECT, INSERT ON tenants TO @APP_ROLE@;
GRANT SELECT, INSERT, UPDATE ON users, companies, people, jobs, applications, stage_changes,
    notes, activities, tasks TO @APP_ROLE@;
GRANT EXECUTE ON FUNCTION crm_user_by_email(text), crm_people_matching(tsquery),
    crm_people_with_skills(text[]) TO @APP_ROLE@;
