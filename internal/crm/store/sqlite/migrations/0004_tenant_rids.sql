-- 0004_tenant_rids: each tenant's people get full-text rowids (rid) in a
-- block of their own, [ord << 32, (ord + 1) << 32), so a full-text search
-- reads only its tenant's part of a term's doclist (FTS5 seeks to a rowid
-- range) and joins only its tenant's matches: "Go" in a two-tenant index
-- of 200 000 people matches 14 000 rows, 7 000 of them the tenant's.
-- Existing people are renumbered in their tenant's block (same order) and
-- the full-text index is rebuilt with the text reindexPerson writes.
ALTER TABLE tenants ADD COLUMN ord INTEGER;
UPDATE tenants SET ord = (SELECT count(*) FROM tenants t2 WHERE t2.rowid <= tenants.rowid);
CREATE UNIQUE INDEX tenants_ord ON tenants (ord);

CREATE TEMP TABLE rid_map AS
	SELECT p.rid AS old, (t.ord << 32) + row_number() OVER (PARTITION BY p.tenant_id ORDER BY p.rid) AS new
	FROM people p JOIN tenants t ON t.id = p.tenant_id;
CREATE UNIQUE INDEX temp.rid_map_old ON rid_map (old);
UPDATE people SET rid = -rid;
UPDATE people SET rid = (SELECT new FROM rid_map WHERE old = -people.rid);
DROP TABLE temp.rid_map;

INSERT INTO people_fts (people_fts) VALUES ('delete-all');
INSERT INTO people_fts (rowid, name, headline, skills, work, notes)
	SELECT p.rid, p.first_name || ' ' || p.last_name, p.headline,
		coalesce((SELECT group_concat(value, ' ; ') FROM json_each(p.skills)), ''),
		p.current_title || ' ; ' || p.current_company,
		coalesce((SELECT group_concat(body, ' ') FROM (
			SELECT body FROM notes n WHERE n.tenant_id = p.tenant_id AND n.person_id = p.id
			ORDER BY n.created_at DESC LIMIT 200)), '')
	FROM people p;
