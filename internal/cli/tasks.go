package cli

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart"
)

func newTasksCmd(e *env) *cobra.Command {
	var statuses []string
	var owner, area, resource, output string
	var all, excepted bool
	cmd := &cobra.Command{
		Use:   "tasks",
		Short: "The TODO list: open tasks, most urgent first",
		Long: `Tasks lists the tasks that failing findings opened, sorted by priority:
severity times the resource's criticality, raised as a task ages past its
SLA (critical 7 days, high 30, medium 90, low 180), with new high and
critical tasks on top. A task that failed again after being resolved is
marked as a regression. Tasks covered by an active exception are hidden
unless --excepted is given; when the exception expires they show again.

  rampart tasks --status open,in_progress --area infrastructure
  rampart tasks update 12 --status in_progress --assignee alice`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := rampart.TaskFilter{Owner: owner, Area: area, ResourceID: resource, IncludeExcepted: excepted, Now: e.now()}
			if !all {
				if len(statuses) == 0 {
					statuses = []string{string(rampart.TaskOpen), string(rampart.TaskInProgress)}
				}
				for _, s := range statuses {
					st, err := rampart.ParseTaskStatus(s)
					if err != nil {
						return usageErrorf("--status: %v", err)
					}
					f.Status = append(f.Status, st)
				}
			}
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			tasks, err := db.Tasks(cmd.Context(), f)
			if err != nil {
				return err
			}
			switch output {
			case "json":
				type row struct {
					rampart.Task
					Priority string    `json:"priority"`
					Score    float64   `json:"priority_score"`
					DueBy    time.Time `json:"due_by"`
				}
				rows := make([]row, 0, len(tasks))
				for _, t := range tasks {
					s := t.Priority(f.Now)
					rows = append(rows, row{Task: t, Priority: rampart.PriorityLabel(s), Score: s, DueBy: t.DueBy()})
				}
				return writeJSON(e.stdout, rows)
			case "table", "":
			default:
				return usageErrorf("unknown --output %q (want table or json)", output)
			}
			if len(tasks) == 0 {
				fmt.Fprintln(e.stdout, "no tasks")
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPRIO\tSEVERITY\tSTATUS\tRESOURCE\tCHECK\tAGE\tITEM")
			for _, t := range tasks {
				status := string(t.Status)
				if t.Regression && t.Status != rampart.TaskResolved {
					status += " (regression)"
				}
				if t.Exception != nil {
					status += fmt.Sprintf(" (excepted until %s)", t.Exception.ExpiresAt.Format(time.DateOnly))
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, rampart.PriorityLabel(t.Priority(f.Now)),
					t.Severity, status, t.ResourceID, t.CheckID, age(f.Now.Sub(t.OpenedAt)), t.Item)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%d tasks\n", len(tasks))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&statuses, "status", nil, "open, in_progress, resolved (default open,in_progress)")
	cmd.Flags().BoolVar(&all, "all", false, "every status, resolved included")
	cmd.Flags().StringVar(&owner, "owner", "", "only tasks of resources with this owner")
	cmd.Flags().StringVar(&area, "area", "", "only tasks in this area")
	cmd.Flags().StringVar(&resource, "resource", "", "only tasks of this resource")
	cmd.Flags().BoolVar(&excepted, "excepted", false, "include tasks an active exception covers")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	cmd.AddCommand(newTaskUpdateCmd(e))
	return cmd
}

func newTaskUpdateCmd(e *env) *cobra.Command {
	var status, assignee string
	cmd := &cobra.Command{
		Use:   "update ID",
		Short: "Change a task's status or assignee",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErrorf("task id %q is not a number", args[0])
			}
			var st rampart.TaskStatus
			if status != "" {
				if st, err = rampart.ParseTaskStatus(status); err != nil {
					return usageErrorf("--status: %v", err)
				}
			}
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			t, err := db.UpdateTask(cmd.Context(), id, st, assignee, cliActor(e))
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "task %d: %s, assignee %q\n", t.ID, t.Status, t.Assignee)
			return nil
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "open, in_progress or resolved")
	cmd.Flags().StringVar(&assignee, "assignee", "", "who works on it")
	return cmd
}

// cliActor names the person at the terminal for the audit log.
func cliActor(e *env) string {
	if u := e.getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

func age(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
