package crm

import (
	"context"
	"slices"
)

// PersonInfo is everything about a person a recruiter looks at before
// writing to them: the profile, their pipelines (with the jobs' titles),
// recent notes and activities, and open tasks. The CRM API serves it in one
// call so that getPersonInfo costs one hop, not six.
type PersonInfo struct {
	Person           Person
	Applications     []Application     // newest first
	JobTitles        map[string]string // job id → title, for Applications
	RecentNotes      []Note            // newest first
	RecentActivities []Activity        // newest first
	OpenTasks        []Task            // by due date
	Placements       []Placement       // the person's hires, newest first
}

// InfoLimits bound the lists of a [PersonInfo].
type InfoLimits struct {
	Notes, Activities, Tasks int
}

// PersonInfoReader is the part of a Store that [LoadPersonInfo] reads.
type PersonInfoReader interface {
	GetPerson(ctx context.Context, tenantID, id string) (Person, error)
	PersonApplications(ctx context.Context, tenantID, personID string) ([]Application, error)
	GetJobs(ctx context.Context, tenantID string, ids []string) ([]Job, error)
	RecentNotes(ctx context.Context, tenantID string, subject Subject, limit int) ([]Note, error)
	RecentActivities(ctx context.Context, tenantID, personID string, limit int) ([]Activity, error)
	ListTasks(ctx context.Context, tenantID string, q TaskQuery) ([]Task, error)
	Placements(ctx context.Context, tenantID string, q PlacementQuery) ([]Placement, error)
}

// Snapshotter is a store that can run several reads in one snapshot (one
// read transaction): they agree with each other, and they take a
// connection once instead of once each. Both backends are.
type Snapshotter interface {
	// ReadSnapshot runs f with a context in which the store's reads for
	// tenantID share one snapshot. f must not write.
	ReadSnapshot(ctx context.Context, tenantID string, f func(ctx context.Context) error) error
}

// ReadPersonInfo reads a person's [PersonInfo] with [LoadPersonInfo], in
// one snapshot where st is a [Snapshotter].
func ReadPersonInfo(ctx context.Context, st PersonInfoReader, tenantID, id string, lim InfoLimits) (PersonInfo, error) {
	snap, ok := st.(Snapshotter)
	if !ok {
		return LoadPersonInfo(ctx, st, tenantID, id, lim)
	}
	var out PersonInfo
	err := snap.ReadSnapshot(ctx, tenantID, func(ctx context.Context) (err error) {
		out, err = LoadPersonInfo(ctx, st, tenantID, id, lim)
		return err
	})
	return out, err
}

// LoadPersonInfo reads a person's [PersonInfo] from st, one query after the
// other. An unknown id (or another tenant's) is ErrNotFound before anything
// else is read.
func LoadPersonInfo(ctx context.Context, st PersonInfoReader, tenantID, id string, lim InfoLimits) (PersonInfo, error) {
	var (
		out PersonInfo
		err error
	)
	if out.Person, err = st.GetPerson(ctx, tenantID, id); err != nil {
		return PersonInfo{}, err
	}
	if out.Applications, err = st.PersonApplications(ctx, tenantID, id); err != nil {
		return PersonInfo{}, err
	}
	out.JobTitles = make(map[string]string, len(out.Applications))
	var jobIDs []string
	for _, a := range out.Applications {
		if !slices.Contains(jobIDs, a.JobID) {
			jobIDs = append(jobIDs, a.JobID)
		}
	}
	if len(jobIDs) > 0 {
		jobs, err := st.GetJobs(ctx, tenantID, jobIDs)
		if err != nil {
			return PersonInfo{}, err
		}
		for _, j := range jobs {
			out.JobTitles[j.ID] = j.Title
		}
	}
	if out.RecentNotes, err = st.RecentNotes(ctx, tenantID, Subject{PersonID: id}, lim.Notes); err != nil {
		return PersonInfo{}, err
	}
	if out.RecentActivities, err = st.RecentActivities(ctx, tenantID, id, lim.Activities); err != nil {
		return PersonInfo{}, err
	}
	tasks, err := st.ListTasks(ctx, tenantID, TaskQuery{PersonID: id, Limit: lim.Tasks})
	if err != nil {
		return PersonInfo{}, err
	}
	out.OpenTasks = slices.DeleteFunc(tasks, func(t Task) bool { return t.Done })
	// Only a hired application has a placement: most people have none, so
	// the query is skipped for them.
	if slices.ContainsFunc(out.Applications, func(a Application) bool { return a.Stage == StageHired }) {
		if out.Placements, err = st.Placements(ctx, tenantID, PlacementQuery{PersonID: id, Limit: MaxLimit}); err != nil {
			return PersonInfo{}, err
		}
	}
	return out, nil
}
