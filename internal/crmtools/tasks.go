package crmtools

import (
	"context"
	"fmt"
	"strings"

	"github.com/crm-mcp/crm-mcp/internal/crm"
	"github.com/crm-mcp/crm-mcp/internal/identity"
	"github.com/crm-mcp/crm-mcp/internal/tools"
)

const defaultTasks = 20

type listTasksIn struct {
	AssigneeID  string `json:"assigneeId,omitempty" jsonschema:"Whose tasks (a CRM user id). Default: yours, unless personId or jobId is given (then everyone's)."`
	PersonID    string `json:"personId,omitempty" jsonschema:"Only tasks about this person."`
	JobID       string `json:"jobId,omitempty" jsonschema:"Only tasks about this job."`
	IncludeDone bool   `json:"includeDone,omitempty" jsonschema:"Also list completed tasks. Default false."`
	DueBefore   string `json:"dueBefore,omitempty" jsonschema:"Only tasks due before this date or RFC 3339 time (tasks without a due date are left out)."`
	Limit       int    `json:"limit,omitempty" jsonschema:"How many tasks, 1-100. Default 20."`
}

type tasksOut struct {
	Tasks []task `json:"tasks" jsonschema:"By due date (none last), then creation."`
}

type createTaskIn struct {
	Title      string `json:"title" jsonschema:"What to do (required)."`
	DueAt      string `json:"dueAt,omitempty" jsonschema:"When it is due: a date (2025-01-31) or RFC 3339 time."`
	AssigneeID string `json:"assigneeId,omitempty" jsonschema:"Who should do it (a CRM user id, see listTeam); default: you."`
	PersonID   string `json:"personId,omitempty" jsonschema:"The person it is about, if any."`
	JobID      string `json:"jobId,omitempty" jsonschema:"The job it is about, if any."`
}

type completeTaskIn struct {
	TaskID string `json:"taskId" jsonschema:"The task's id (tsk_…), from listTasks or getPersonInfo."`
}

type taskOut struct {
	Task task `json:"task" jsonschema:"The task as stored now."`
}

func taskTools(d *deps) []tools.Registered {
	return []tools.Registered{
		newTool(d, spec{
			name: "listTasks", title: "List tasks", toolset: ToolsetTasks, scope: identity.ScopeRead, effect: reads,
			description: "List to-dos: by default your own open tasks, by due date. Filter by assignee, person, job or due date, or include completed ones. " +
				"Use getPersonInfo to see one person's open tasks along with everything else about them.",
		}, listTasks, renderTasks),
		newTool(d, spec{
			name: "createTask", title: "Create a task", toolset: ToolsetTasks, scope: identity.ScopeWrite, effect: adds,
			description: "Create a to-do (a follow-up call, sending a CV, …) for you or a colleague, optionally about a person or job and with a due date. " +
				"To record something that already happened, use logActivity or addNote.",
			invalid: "the title is required (at most 400 characters), and personId and jobId must be records in your CRM.",
		}, createTask, renderTaskOut("Created")),
		newTool(d, spec{
			name: "completeTask", title: "Complete a task", toolset: ToolsetTasks, scope: identity.ScopeWrite, effect: addsOnce,
			description: "Mark a task as done. Completing a task that is already done changes nothing. Use listTasks to find the task's id.",
		}, completeTask, renderTaskOut("Completed")),
	}
}

func listTasks(ctx context.Context, c *call, in listTasksIn) (tasksOut, error) {
	q := crm.TaskQuery{AssigneeID: in.AssigneeID, PersonID: in.PersonID, JobID: in.JobID, IncludeDone: in.IncludeDone}
	if q.AssigneeID == "" && q.PersonID == "" && q.JobID == "" {
		q.AssigneeID = c.p.UserID
	}
	if in.DueBefore != "" {
		t, err := parseWhen("dueBefore", in.DueBefore)
		if err != nil {
			return tasksOut{}, err
		}
		q.DueBefore = t
	}
	q.Limit = in.Limit
	if q.Limit <= 0 {
		q.Limit = defaultTasks
	}
	q.Limit = min(q.Limit, maxListLimit)
	ts, err := c.crm.ListTasks(ctx, q)
	if err != nil {
		return tasksOut{}, c.crmErr(err, "", "")
	}
	return tasksOut{Tasks: mapSlice(firstNItems(ts, q.Limit), toTask)}, nil
}

func renderTasks(o *tasksOut) string {
	var b strings.Builder
	if len(o.Tasks) == 0 {
		b.WriteString("No tasks match.\n")
		return b.String()
	}
	fmt.Fprintf(&b, "%s, by due date:\n\n", plural(len(o.Tasks), "task"))
	writeTaskTable(&b, o.Tasks)
	return b.String()
}

func writeTaskTable(b *strings.Builder, ts []task) {
	rows := make([][]string, 0, len(ts))
	for _, t := range ts {
		about := strings.TrimSpace(t.PersonID + " " + t.JobID)
		status := "open"
		if t.Done {
			status = "done"
		}
		rows = append(rows, []string{t.ID, t.Title, dayOf(t.DueAt), t.AssigneeID, about, status})
	}
	table(b, []string{"ID", "Title", "Due", "Assignee", "About", "Status"}, rows)
}

func createTask(ctx context.Context, c *call, in createTaskIn) (taskOut, error) {
	t := crm.Task{Title: in.Title, AssigneeID: in.AssigneeID, PersonID: in.PersonID, JobID: in.JobID}
	if t.AssigneeID == "" {
		t.AssigneeID = c.p.UserID
	}
	if in.DueAt != "" {
		due, err := parseWhen("dueAt", in.DueAt)
		if err != nil {
			return taskOut{}, err
		}
		t.DueAt = due
	}
	if strings.TrimSpace(t.Title) == "" {
		return taskOut{}, invalidf("the title is empty.")
	}
	created, err := c.crm.CreateTask(ctx, t)
	if err != nil {
		return taskOut{}, c.crmErr(err, "", "")
	}
	return taskOut{Task: toTask(created)}, nil
}

func completeTask(ctx context.Context, c *call, in completeTaskIn) (taskOut, error) {
	t, err := c.crm.CompleteTask(ctx, in.TaskID)
	if err != nil {
		return taskOut{}, c.crmErr(err, "task", in.TaskID)
	}
	return taskOut{Task: toTask(t)}, nil
}

func renderTaskOut(verb string) func(*taskOut) string {
	return func(o *taskOut) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%s task %s.\n", verb, o.Task.ID)
		line(&b, "Title", o.Task.Title)
		line(&b, "Due", o.Task.DueAt)
		line(&b, "Assignee", o.Task.AssigneeID)
		line(&b, "Person", o.Task.PersonID)
		line(&b, "Job", o.Task.JobID)
		line(&b, "Completed", o.Task.CompletedAt)
		return b.String()
	}
}
