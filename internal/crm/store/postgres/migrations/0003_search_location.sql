-- 0003_search_location: the people search tests the location before it
-- ranks. Runs as the schema owner, inside Migrate's transaction, like 0001.
--
-- crm_people_matching(q) ranks every text match with ts_rank_cd, which
-- reads each match's whole tsvector (notes included), and the caller's
-- location filter ran only after the join back to people: "Go" in Berlin
-- ranked ~7 000 of a tenant's 100 000 people to keep ~900. This overload
-- takes the location substring ('' for none) and tests it in the same
-- scan, so only the rows that pass are ranked. The test is the caller's
-- (strpos of lower(); an empty location passes every row), which still
-- runs after the join too. The tenant and the lowered location are
-- subqueries so that they are computed once, not for each of the ~7 000
-- rows the index finds (the function's plan is generic: $1, $2): ~12 %
-- of the scan.
--
-- The one-argument function stays (during a rolling upgrade the replicas
-- not yet upgraded still call it), now as this one with no location, so
-- the match is written once.
CREATE FUNCTION crm_people_matching(q tsquery, loc text)
RETURNS TABLE (id text, rank real)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 100
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.id, ts_rank_cd(p.search, q)
    FROM @SCHEMA@.people AS p
    WHERE p.tenant_id = (SELECT current_setting('app.tenant_id', true)) AND p.search @@ q
      AND strpos(lower(p.location), (SELECT lower(loc))) > 0
$$;
REVOKE ALL ON FUNCTION crm_people_matching(tsquery, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_people_matching(tsquery, text) TO @APP_ROLE@;

CREATE OR REPLACE FUNCTION crm_people_matching(q tsquery)
RETURNS TABLE (id text, rank real)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 100
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT m.id, m.rank FROM @SCHEMA@.crm_people_matching(q, '') AS m
$$;
