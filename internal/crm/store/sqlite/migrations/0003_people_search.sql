-- 0003_people_search: covering indexes for the people search.
--
-- A search joins every full-text match (or every id a skill, stage or job
-- filter yields) to people for the tenant check, the filters and the
-- ordering. Through the table that read a whole wide row per match, and
-- the location filter scanned every row of the tenant in a subquery: "Go"
-- in Berlin over 100 000 people took about 100 ms. These two indexes hold
-- exactly the columns a search reads, one keyed by the full-text rowid and
-- one by (tenant_id, id), so the location test runs inline on the matches
-- only (3-5x faster, measured in docs/performance.md). The old location
-- index is superseded by people_by_id.
CREATE INDEX people_by_rid ON people (rid, tenant_id, updated_at, location_norm, kind, owner_id, id);
CREATE INDEX people_by_id ON people (tenant_id, id, updated_at, location_norm, kind, owner_id);
DROP INDEX people_location;
