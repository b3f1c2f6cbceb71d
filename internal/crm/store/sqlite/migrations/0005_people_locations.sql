-- 0005_people_locations: the location filter of a text search runs inside
-- the full-text query.
--
-- "Go" in Berlin matched ~7 000 of a tenant's 100 000 people by text, and
-- each match was joined to people_by_rid only to test its location: half
-- of a 12 ms search. Now each distinct location of a tenant gets an id in
-- people_locations, and a person's full-text row carries the token
-- "loc<id>" in a column of its own (loc, weight 0 in the ranking). The
-- search finds the ids whose location contains the filter (the same
-- substring test, over the distinct locations), and FTS5 intersects the
-- text's matches with those tokens' doclists, so only the ~900 people who
-- match both are joined and ranked. The substring test still runs on each
-- result, so the dictionary only has to hold every location in use; ids
-- of locations nobody has any more stay and match nothing.
CREATE TABLE people_locations (
	id        INTEGER PRIMARY KEY,
	tenant_id TEXT NOT NULL,
	norm      TEXT NOT NULL, -- people.location_norm
	UNIQUE (tenant_id, norm)
);
INSERT INTO people_locations (tenant_id, norm)
	SELECT DISTINCT tenant_id, location_norm FROM people WHERE location_norm <> '' ORDER BY 1, 2;

-- FTS5 tables cannot gain a column: rebuild with the text reindexPerson
-- writes.
DROP TABLE people_fts;
CREATE VIRTUAL TABLE people_fts USING fts5 (
	name, headline, skills, work, notes, loc,
	content = '', contentless_delete = 1,
	tokenize = 'porter unicode61 remove_diacritics 2'
);
INSERT INTO people_fts (rowid, name, headline, skills, work, notes, loc)
	SELECT p.rid, p.first_name || ' ' || p.last_name, p.headline,
		coalesce((SELECT group_concat(value, ' ; ') FROM json_each(p.skills)), ''),
		p.current_title || ' ; ' || p.current_company,
		coalesce((SELECT group_concat(body, ' ') FROM (
			SELECT body FROM notes n WHERE n.tenant_id = p.tenant_id AND n.person_id = p.id
			ORDER BY n.created_at DESC LIMIT 200)), ''),
		coalesce((SELECT 'loc' || l.id FROM people_locations l WHERE l.tenant_id = p.tenant_id AND l.norm = p.location_norm), '')
	FROM people p
	ORDER BY p.rid;

-- One bulk insert leaves several segments; leave one, as the background
-- upkeep would (maintain.go).
INSERT INTO people_fts (people_fts) VALUES ('optimize');
