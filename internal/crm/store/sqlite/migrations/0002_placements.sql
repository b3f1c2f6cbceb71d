-- 0002_placements: a placement records a hire. Every move of an
-- application to hired writes exactly one, in the move's transaction; the
-- unique (tenant_id, application_id) makes a second one impossible.
-- start_date NULL: not set; salary and fee 0: not set; currency '': not set.

CREATE TABLE placements (
	tenant_id      TEXT NOT NULL,
	id             TEXT NOT NULL,
	application_id TEXT NOT NULL,
	job_id         TEXT NOT NULL,
	person_id      TEXT NOT NULL,
	start_date     INTEGER,
	salary         INTEGER NOT NULL CHECK (salary >= 0),
	fee            INTEGER NOT NULL CHECK (fee >= 0),
	currency       TEXT NOT NULL,
	created_by     TEXT NOT NULL, -- user id, '' when unknown
	created_at     INTEGER NOT NULL,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, application_id),
	FOREIGN KEY (tenant_id, application_id) REFERENCES applications (tenant_id, id),
	FOREIGN KEY (tenant_id, job_id) REFERENCES jobs (tenant_id, id),
	FOREIGN KEY (tenant_id, person_id) REFERENCES people (tenant_id, id)
) STRICT;
CREATE INDEX placements_job ON placements (tenant_id, job_id, created_at DESC);
CREATE INDEX placements_person ON placements (tenant_id, person_id, created_at DESC);

-- Backfill: applications hired before this migration (e.g. in a seeded
-- demo database) get a placement without details, stamped with the move
-- to hired (its time and user) or, without one, the application's last
-- update. Ids have the plc_ prefix and 128 random bits, like crm.NewID's.
INSERT INTO placements (tenant_id, id, application_id, job_id, person_id, start_date, salary, fee, currency, created_by, created_at)
SELECT a.tenant_id, 'plc_' || lower(hex(randomblob(16))), a.id, a.job_id, a.person_id, NULL, 0, 0, '',
	coalesce((SELECT c.user_id FROM stage_changes AS c
		WHERE c.tenant_id = a.tenant_id AND c.application_id = a.id AND c.to_stage = 'hired' ORDER BY c.seq DESC LIMIT 1), ''),
	coalesce((SELECT c.at FROM stage_changes AS c
		WHERE c.tenant_id = a.tenant_id AND c.application_id = a.id AND c.to_stage = 'hired' ORDER BY c.seq DESC LIMIT 1), a.updated_at)
FROM applications AS a
WHERE a.stage = 'hired';
