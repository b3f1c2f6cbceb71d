// Package storetest is the conformance suite every crm.Store backend runs
// (house rule R11): one set of table-driven tests, the same for SQLite and
// PostgreSQL.
//
// A backend's test calls
//
//	storetest.Run(t, func(t *testing.T, now func() time.Time) crm.Store { ... })
//
// open must return a ready, migrated store that stamps every time it writes
// (CreatedAt, UpdatedAt, StageChange.At, CompletedAt) with now(), and close it
// in t.Cleanup. The suite controls now through a fake Clock that starts at a
// whole second in UTC and ticks one millisecond on every call, so every time
// the suite sees is distinct, ordered and exact at microsecond precision
// (PostgreSQL's timestamptz).
//
// Every test opens its own store, but creates its own tenants with random ids
// and users with random emails, so a backend may also hand every test the
// same database.
//
// # Behaviour the suite pins (beyond the doc comments of crm.Store)
//
//   - Create* ignores the input ID, CreatedAt, UpdatedAt and TenantID: the
//     store assigns crm.NewID(prefix) ids ("per", "cmp", "job", "app", "not",
//     "act", "tsk") and the tenant argument wins. CreateTenant and CreateUser
//     keep a given ID (administration, seeding), else assign "tnt_…" /
//     "usr_…"; a duplicate id is ErrConflict.
//   - Writes are validated with the crm Validate methods first (ErrInvalid,
//     nothing written). A reference to a person, company or job that does
//     not exist in the tenant (including another tenant's) is ErrInvalid; so
//     is a write to a tenant that does not exist. References to users
//     (OwnerID, AuthorID, AssigneeID, UserID) are not checked by the suite.
//   - A read, update, move or complete of an id that does not exist in the
//     tenant is ErrNotFound, with an error text that does not contain the id,
//     identical for another tenant's id and a random id. So are the
//     "about one record" lists: JobPipeline, PersonApplications, RecentNotes,
//     RecentActivities, Timeline. Filter lists (ListTasks, searches,
//     PipelineReport) return nothing instead.
//   - Error texts never contain input values (canaries) or SQL.
//   - Slices: nil and empty are the same; lists keep the given order.
//   - Only UpdateX changes a record's UpdatedAt: notes, activities, tasks
//     and pipeline moves do not touch the person's or job's.
//   - UpdateX applies the patch, validates the result (ErrInvalid, nothing
//     written), bumps UpdatedAt and keeps CreatedAt.
//   - Searches: Limit <= 0 or > crm.MaxLimit means crm.MaxLimit; Total counts
//     every match. Without Text: UpdatedAt descending, ties by ID ascending.
//     With Text: every word must match (AND), case-insensitive, anywhere in
//     the searched fields; ranked by relevance, a match in the name ranks
//     above a match only in a note; equal relevance falls back to UpdatedAt
//     descending, then ID. Text is never query syntax: quotes, operators,
//     LIKE wildcards and SQL are plain characters. Location is a
//     case-insensitive substring in which % and _ are literal; Skills are
//     case-insensitive exact, all required; Stage and JobID together mean
//     the same application; UpdatedSince is inclusive. A person's note
//     bodies count as that person's text.
//   - AddToPipeline: stage defaults to sourced; the history starts with
//     {From: "", To: stage, UserID: OwnerID}; rejected needs RejectReason;
//     a missing person or job is ErrInvalid; a duplicate is ErrConflict.
//   - MoveStage follows crm.CanMove (else ErrInvalid), rejected needs a
//     non-blank reason, leaving rejected clears RejectReason; the history
//     entry records from, to, now, user and reason.
//   - JobPipeline: stage in crm.Stages order, then UpdatedAt ascending, then
//     ID. PersonApplications: CreatedAt descending, then ID. Applications
//     always carry their full history.
//   - PipelineReport returns one row per crm.Stages entry, in that order.
//     JobID and OwnerID (the application's owner) combine; neither means
//     the whole tenant; an unknown or foreign job gives all-zero rows.
//     Since keeps applications created at or after it. A stay at a stage is
//     completed by the next history entry; the median of an even count is
//     the mean of the middle two; no completed stay is 0.
//   - RecentNotes, RecentActivities, Timeline: limit <= 0 means
//     crm.DefaultPage, > crm.MaxLimit means crm.MaxLimit; newest first
//     (notes by CreatedAt, activities by OccurredAt, timeline by At).
//     RecentNotes uses the first non-empty of PersonID, CompanyID, JobID; an
//     empty subject is ErrInvalid. Timeline entries: note (At CreatedAt,
//     Summary the body), activity (At OccurredAt, Summary the summary),
//     stage_change (At of the change, ID the application), task (At
//     CreatedAt, Summary the title). Every entry has a non-empty Summary.
//   - CompleteTask is idempotent (a second call keeps CompletedAt).
//     ListTasks: DueAt ascending with no due date last, then CreatedAt, then
//     ID; DueBefore is exclusive and drops tasks without a due date; no
//     filter lists the tenant's tasks; Limit as searches.
//   - Users: email stored lower case, unique across tenants (ErrConflict),
//     UserByEmail case-insensitive; ListUsers ordered by email.
//   - Concurrency: MoveStage is serialised per application (no lost
//     history); concurrent AddToPipeline of one pair has exactly one winner.
package storetest
