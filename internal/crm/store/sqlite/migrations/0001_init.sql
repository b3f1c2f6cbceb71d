-- Every table carries tenant_id; every key and every reference is
-- composite (tenant_id, id), so a row can only ever point at a row of its
-- own tenant, whatever id a caller passes. Times are Unix nanoseconds (UTC).

CREATE TABLE tenants (
	id         TEXT NOT NULL PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
	tenant_id     TEXT NOT NULL REFERENCES tenants (id),
	id            TEXT NOT NULL,
	email         TEXT NOT NULL UNIQUE, -- lower case; unique across tenants (login)
	name          TEXT NOT NULL,
	role          TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE companies (
	rid               INTEGER PRIMARY KEY, -- stable rowid: the full-text index's key
	tenant_id     TEXT NOT NULL REFERENCES tenants (id),
	id            TEXT NOT NULL,
	name          TEXT NOT NULL,
	domain        TEXT NOT NULL,
	industry      TEXT NOT NULL,
	industry_norm TEXT NOT NULL, -- lower case, for the exact filter
	location      TEXT NOT NULL,
	location_norm TEXT NOT NULL, -- lower case, for the substring filter
	size          TEXT NOT NULL,
	description   TEXT NOT NULL,
	owner_id      TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	UNIQUE (tenant_id, id)
) STRICT;
CREATE INDEX companies_updated ON companies (tenant_id, updated_at DESC, id);
CREATE INDEX companies_industry ON companies (tenant_id, industry_norm);

CREATE TABLE people (
	rid               INTEGER PRIMARY KEY, -- stable rowid: the full-text index's key
	tenant_id       TEXT NOT NULL REFERENCES tenants (id),
	id              TEXT NOT NULL,
	kind            TEXT NOT NULL,
	first_name      TEXT NOT NULL,
	last_name       TEXT NOT NULL,
	headline        TEXT NOT NULL,
	emails          TEXT NOT NULL, -- JSON array
	phones          TEXT NOT NULL, -- JSON array
	location        TEXT NOT NULL,
	location_norm   TEXT NOT NULL,
	current_title   TEXT NOT NULL,
	current_company TEXT NOT NULL,
	company_id      TEXT,
	skills          TEXT NOT NULL, -- JSON array, as given; person_skills is the filterable copy
	source          TEXT NOT NULL,
	tags            TEXT NOT NULL, -- JSON array
	owner_id        TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id)
) STRICT;
CREATE INDEX people_updated ON people (tenant_id, updated_at DESC, id);
CREATE INDEX people_owner ON people (tenant_id, owner_id);
CREATE INDEX people_company ON people (tenant_id, company_id);
-- Covers the location substring filter: a scan of this index reads far
-- fewer pages than a scan of the wide rows.
CREATE INDEX people_location ON people (tenant_id, location_norm, id);

CREATE TABLE person_skills (
	tenant_id  TEXT NOT NULL,
	person_id  TEXT NOT NULL,
	pos        INTEGER NOT NULL,
	skill_norm TEXT NOT NULL, -- lower case
	PRIMARY KEY (tenant_id, person_id, pos),
	FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX person_skills_skill ON person_skills (tenant_id, skill_norm, person_id);

CREATE TABLE jobs (
	rid               INTEGER PRIMARY KEY, -- stable rowid: the full-text index's key
	tenant_id         TEXT NOT NULL REFERENCES tenants (id),
	id                TEXT NOT NULL,
	company_id        TEXT NOT NULL,
	title             TEXT NOT NULL,
	status            TEXT NOT NULL,
	location          TEXT NOT NULL,
	location_norm     TEXT NOT NULL,
	salary_min        INTEGER NOT NULL,
	salary_max        INTEGER NOT NULL,
	currency          TEXT NOT NULL,
	description       TEXT NOT NULL,
	hiring_manager_id TEXT,
	owner_id          TEXT NOT NULL,
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL,
	UNIQUE (tenant_id, id),
	FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
	FOREIGN KEY (tenant_id, hiring_manager_id) REFERENCES people (tenant_id, id)
) STRICT;
CREATE INDEX jobs_updated ON jobs (tenant_id, updated_at DESC, id);
CREATE INDEX jobs_company ON jobs (tenant_id, company_id);
CREATE INDEX jobs_hiring_manager ON jobs (tenant_id, hiring_manager_id);

CREATE TABLE applications (
	tenant_id     TEXT NOT NULL,
	id            TEXT NOT NULL,
	job_id        TEXT NOT NULL,
	person_id     TEXT NOT NULL,
	stage         TEXT NOT NULL,
	reject_reason TEXT NOT NULL,
	owner_id      TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, job_id, person_id),
	FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id),
	FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id)
) STRICT;
CREATE INDEX applications_person ON applications (tenant_id, person_id, created_at DESC);
CREATE INDEX applications_stage ON applications (tenant_id, stage, person_id);
CREATE INDEX applications_owner ON applications (tenant_id, owner_id);

CREATE TABLE stage_changes (
	tenant_id      TEXT NOT NULL,
	application_id TEXT NOT NULL,
	seq            INTEGER NOT NULL, -- 0 for the add
	from_stage     TEXT NOT NULL,
	to_stage       TEXT NOT NULL,
	at             INTEGER NOT NULL,
	user_id        TEXT NOT NULL,
	reason         TEXT NOT NULL,
	PRIMARY KEY (tenant_id, application_id, seq),
	FOREIGN KEY (tenant_id, application_id) REFERENCES applications (tenant_id, id)
) STRICT;

CREATE TABLE notes (
	tenant_id  TEXT NOT NULL REFERENCES tenants (id),
	id         TEXT NOT NULL,
	person_id  TEXT,
	company_id TEXT,
	job_id     TEXT,
	body       TEXT NOT NULL,
	author_id  TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id),
	FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
	FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id)
) STRICT;
CREATE INDEX notes_person ON notes (tenant_id, person_id, created_at DESC);
CREATE INDEX notes_company ON notes (tenant_id, company_id, created_at DESC);
CREATE INDEX notes_job ON notes (tenant_id, job_id, created_at DESC);

CREATE TABLE activities (
	tenant_id   TEXT NOT NULL REFERENCES tenants (id),
	id          TEXT NOT NULL,
	kind        TEXT NOT NULL,
	person_id   TEXT NOT NULL,
	job_id      TEXT,
	summary     TEXT NOT NULL,
	occurred_at INTEGER NOT NULL,
	user_id     TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id),
	FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id)
) STRICT;
CREATE INDEX activities_person ON activities (tenant_id, person_id, occurred_at DESC);
CREATE INDEX activities_job ON activities (tenant_id, job_id);

CREATE TABLE tasks (
	tenant_id    TEXT NOT NULL REFERENCES tenants (id),
	id           TEXT NOT NULL,
	title        TEXT NOT NULL,
	due_at       INTEGER, -- NULL: no due date
	done         INTEGER NOT NULL,
	completed_at INTEGER,
	assignee_id  TEXT NOT NULL,
	person_id    TEXT,
	job_id       TEXT,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id),
	FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id)
) STRICT;
CREATE INDEX tasks_assignee ON tasks (tenant_id, assignee_id, done);
CREATE INDEX tasks_person ON tasks (tenant_id, person_id);
CREATE INDEX tasks_job ON tasks (tenant_id, job_id);

-- Full-text indexes: contentless (the text lives in the tables above),
-- keyed by the stable rid of the indexed row, rewritten in the same
-- transaction as every change to that text. They hold every tenant's
-- rows; a query joins back to its table and filters by tenant there.
CREATE VIRTUAL TABLE people_fts USING fts5 (
	name, headline, skills, work, notes,
	content = '', contentless_delete = 1,
	tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE companies_fts USING fts5 (
	name, domain, industry, description,
	content = '', contentless_delete = 1,
	tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE jobs_fts USING fts5 (
	title, company, description,
	content = '', contentless_delete = 1,
	tokenize = 'porter unicode61 remove_diacritics 2'
);
