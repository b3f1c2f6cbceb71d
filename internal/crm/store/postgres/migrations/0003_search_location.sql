-- 0003_search_location: the people search narrows by location and tenant
-- inside the full-text index. Runs as the schema owner, inside Migrate's
-- transaction, like 0001.
--
-- Before, crm_people_matching(q) found every text match of every tenant
-- in the GIN index, then visited each match's heap row to test the tenant,
-- and the caller tested the location after joining back to people: "go"
-- in Berlin visited ~24 000 rows (8 700 pages) to keep ~1 200.
--
-- crm_location_grams(tenant, location) is the tenant as one entry ('t:'
-- and the id) plus every 3-character window of lower(location). If
-- lower(filter) is a substring of lower(location), each window of the
-- filter is a window of the location, so "grams(row) @> grams(filter)" is
-- implied by the search's location test (strpos of lower()) and can be
-- answered by the index first. A filter of under 3 characters has only
-- the tenant entry. The strpos test still runs on every row: the grams
-- only have to never miss, and they cannot.
--
-- The people index becomes a two-column GIN index (search, grams), which
-- replaces the one on search alone: a GIN index answers conditions on any
-- of its columns, so a text match, a location, or both are one index scan
-- whose result is already the intersection. Measured on 2 tenants of 100
-- 000 people (docs/performance.md): "go" in Berlin 9.4 -> 2.5 ms, skills go
-- in Berlin 9.5 -> 4.3 ms, a broad text without location 20 -> 19 ms.
CREATE FUNCTION crm_location_grams(tenant text, loc text)
RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT array_agg(DISTINCT g) FROM (
        SELECT 't:' || tenant AS g
        UNION ALL
        SELECT substr(lower(loc), i, 3) FROM generate_series(1, length(lower(loc)) - 2) AS i
    ) AS grams
$$;

CREATE INDEX people_search_loc_idx ON people USING gin (search, crm_location_grams(tenant_id, location));
DROP INDEX people_search_idx;

-- The text search with a location ('' for none). The tenant and the
-- lowered location are subqueries so that they are computed once, not for
-- each row the index finds (the function's plan is generic: $1, $2). The
-- one-argument function stays (during a rolling upgrade the replicas not
-- yet upgraded still call it), now as this one with no location.
CREATE FUNCTION crm_people_matching(q tsquery, loc text)
RETURNS TABLE (id text, rank real)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 100
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.id, ts_rank_cd(p.search, q)
    FROM @SCHEMA@.people AS p
    WHERE p.tenant_id = (SELECT current_setting('app.tenant_id', true)) AND p.search @@ q
      AND @SCHEMA@.crm_location_grams(p.tenant_id, p.location)
          @> @SCHEMA@.crm_location_grams((SELECT current_setting('app.tenant_id', true)), loc)
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

-- Skills in a location: the skills index and the location grams are
-- ANDed as bitmaps before any heap row is read. (Each function writes the
-- tenant, grams and strpos conditions out: a SECURITY DEFINER SQL function
-- is never inlined into its caller, and an index serves only conditions
-- its own query holds. The skills-only function keeps no grams condition:
-- the tenant's whole posting list would only slow it.)
CREATE FUNCTION crm_people_with_skills(wanted text[], loc text)
RETURNS TABLE (id text)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 100
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.id
    FROM @SCHEMA@.people AS p
    WHERE p.tenant_id = (SELECT current_setting('app.tenant_id', true)) AND p.skills_norm @> wanted
      AND @SCHEMA@.crm_location_grams(p.tenant_id, p.location)
          @> @SCHEMA@.crm_location_grams((SELECT current_setting('app.tenant_id', true)), loc)
      AND strpos(lower(p.location), (SELECT lower(loc))) > 0
$$;
REVOKE ALL ON FUNCTION crm_people_with_skills(text[], text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_people_with_skills(text[], text) TO @APP_ROLE@;

-- A location alone (3 characters or more; shorter ones narrow only by
-- tenant). It returns updated_at so that the caller can count, order and
-- cut the page before joining back to people: joining every match of a
-- broad location first cost more than the index saved.
CREATE FUNCTION crm_people_in_location(loc text)
RETURNS TABLE (id text, updated_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER ROWS 100
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.id, p.updated_at
    FROM @SCHEMA@.people AS p
    WHERE p.tenant_id = (SELECT current_setting('app.tenant_id', true))
      AND @SCHEMA@.crm_location_grams(p.tenant_id, p.location)
          @> @SCHEMA@.crm_location_grams((SELECT current_setting('app.tenant_id', true)), loc)
      AND strpos(lower(p.location), (SELECT lower(loc))) > 0
$$;
REVOKE ALL ON FUNCTION crm_people_in_location(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION crm_people_in_location(text) TO @APP_ROLE@;
