// Package postgres implements crm.Store on PostgreSQL (15 or later) with
// row-level security as a second wall between tenants.
//
// # Roles
//
// Two roles take part. The owner runs Migrate and owns every table and
// function; it should be a dedicated non-superuser role (a superuser
// works, but then the SECURITY DEFINER functions below run as one). The application
// role (AppRole, "crm_app") is what Open connects as: it holds only
// SELECT/INSERT/UPDATE on the tables (SELECT/INSERT on tenants; no
// DELETE, no DDL) and EXECUTE on three functions, and Open refuses to run as a superuser, a BYPASSRLS role
// or a member of the owner role (ErrUnsafeRole), since row-level security
// would not bind those.
//
// # Tenancy
//
// Every table has tenant_id; primary keys are (tenant_id, id) and every
// foreign key includes tenant_id, so a reference to another tenant's row
// cannot be stored. Every table has ROW LEVEL SECURITY enabled and forced,
// with the policy tenant_isolation, USING and WITH CHECK
// tenant_id = current_setting('app.tenant_id', true). Each Store method
// runs in one transaction whose first statement is
// set_config('app.tenant_id', tenant, true): transaction-local, so the
// setting ends with the transaction (commit, rollback or error) and a
// pooled connection never carries it into another request. A connection
// with no tenant set sees no rows and can insert none. Every query also
// filters by tenant_id itself; the policies catch a query that forgets.
//
// The one read across tenants is login (UserByEmail). It calls
// crm_user_by_email(email), a SECURITY DEFINER SQL function owned by the
// owner role, with a fixed search_path, that returns the columns of at
// most one user: the one with that exact email. The owner reads users
// through a SELECT-only policy of its own (FORCE applies policies to the
// owner too). EXECUTE is revoked from PUBLIC and granted to AppRole only.
// Emails are unique across tenants, so creating a user with an email
// another tenant uses is crm.ErrConflict; that much is an unavoidable
// existence oracle of the login design.
//
// More SECURITY DEFINER functions serve people search:
// crm_people_matching(tsquery[, location]), crm_people_with_skills(text[][,
// location]) and crm_people_in_location(location). Under row-level
// security the planner will not use an index for an operator that is not
// LEAKPROOF (@@, @>), and only a superuser can mark one so; these
// functions run the indexed match as the owner (through a SELECT-only
// owner policy on people), restricted to current_setting('app.tenant_id',
// true) exactly as the policies are, and return ids that SearchPeople
// joins back to people under the policies (a location alone: only the
// page's ids). The location overloads narrow by crm_location_grams in the
// same GIN index as the text (migration 0003).
//
// # Search
//
// People have a stored, generated tsvector (English configuration) over
// name and skills (weight A), headline and current title and company (B)
// and the bodies of notes about them (D), with a GIN index; notes_doc, the
// notes' part, is appended to by AddNote in the note's transaction. Text
// queries use plainto_tsquery (every word must match; the text is never
// query syntax) and rank with ts_rank_cd. Skills are also kept lower-cased in a text[] with
// a GIN index for the exact, case-insensitive skill filter. Jobs carry a
// copy of their company's name for the same reason, kept in step by
// UpdateCompany.
//
// # Errors
//
// Errors are *Error values that match a crm sentinel with errors.Is:
// unique violations are crm.ErrConflict; foreign-key, check, not-null and
// bad-value violations crm.ErrInvalid (this covers a reference to a
// record the tenant does not have, and a write to a tenant that does not
// exist); a missing row is crm.ErrNotFound; connection failures, timeouts, deadlocks and
// shutdowns crm.ErrUnavailable (transactions roll back). Their messages
// carry the operation and class only, never SQL, values, ids or server
// text, so they can be logged as they are; Error.SQLState keeps the
// server's code for logs and metrics.
package postgres
