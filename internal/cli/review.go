package cli

import (
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart"
)

func newReviewCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "review",
		Short: "Periodic reviews: list them, read one, complete one with evidence",
		Long: `A review is one due occurrence of a manual control: the scheduler opens it at
the control's periodicity (rampart serve, or rampart schedule run), assigned
to the control's owner role, with the control's procedure. A person carries
the procedure out and completes the review with an attestation and evidence
(files or links) covering a period; the evidence expires when the next
review comes due. A review open past its due-by date is overdue: its control
counts as failing until it is completed.

  rampart review list --status overdue
  rampart review show 12
  rampart review complete 12 --attest "Members reviewed; two removed" \
      --evidence members-2026-q2.csv --link https://wiki.example.com/access-review-q2`,
	}
	cmd.AddCommand(newReviewListCmd(e), newReviewShowCmd(e), newReviewCompleteCmd(e))
	return cmd
}

func newReviewListCmd(e *env) *cobra.Command {
	var status, owner, control, resource, output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List reviews, the earliest due first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			now := e.now()
			f := rampart.ReviewFilter{Owner: owner, ControlID: control, ResourceID: resource}
			switch status {
			case "open", "due":
				f.Status = []rampart.ReviewStatus{rampart.ReviewOpen}
			case "overdue":
				f.OverdueAt = now
			case "completed":
				f.Status = []rampart.ReviewStatus{rampart.ReviewCompleted}
			case "all":
			default:
				return usageErrorf("--status %q: want open, due, overdue, completed or all", status)
			}
			if output != "table" && output != "json" {
				return usageErrorf("unknown --output %q (want table or json)", output)
			}
			a, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			list, err := db.Reviews(cmd.Context(), f)
			if err != nil {
				return err
			}
			if status == "due" {
				kept := list[:0]
				for _, r := range list {
					if !r.Overdue(now) {
						kept = append(kept, r)
					}
				}
				list = kept
			}
			if output == "json" {
				type row struct {
					rampart.Review
					State string `json:"state"`
				}
				rows := make([]row, 0, len(list))
				for _, r := range list {
					rows = append(rows, row{Review: r, State: r.State(now)})
				}
				return writeJSON(e.stdout, rows)
			}
			if len(list) == 0 {
				fmt.Fprintln(e.stdout, "no reviews")
				return nil
			}
			loc := a.cfg.Schedule.TimeZone
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATE\tDUE BY\tCONTROL\tRESOURCE\tOWNER\tPERIOD\tTITLE")
			for _, r := range list {
				res := r.ResourceID
				if res == "" {
					res = "(estate)"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.State(now), r.DueBy.In(loc).Format(time.DateOnly),
					r.ControlID, res, r.Owner, period(r.DueAt, r.NextDueAt, loc), r.Title)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%d reviews\n", len(list))
			return nil
		},
	}
	cmd.Flags().StringVar(&status, "status", "open", "open, due (open, not yet overdue), overdue, completed or all")
	cmd.Flags().StringVar(&owner, "owner", "", "only reviews assigned to this role")
	cmd.Flags().StringVar(&control, "control", "", "only reviews of this control")
	cmd.Flags().StringVar(&resource, "resource", "", "only reviews of this resource")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

// period shows [start, end) as the days it covers.
func period(start, end time.Time, loc *time.Location) string {
	last := end.In(loc).Add(-time.Nanosecond)
	return start.In(loc).Format(time.DateOnly) + ".." + last.Format(time.DateOnly)
}

func reviewID(arg string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id <= 0 {
		return 0, usageErrorf("review id %q is not a number", arg)
	}
	return id, nil
}

func newReviewShowCmd(e *env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a review: its procedure, state, attestation and evidence",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := reviewID(args[0])
			if err != nil {
				return err
			}
			a, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			r, err := db.Review(cmd.Context(), id)
			if err != nil {
				return err
			}
			now, loc := e.now(), a.cfg.Schedule.TimeZone
			if output == "json" {
				return writeJSON(e.stdout, struct {
					rampart.Review
					State string `json:"state"`
				}{r, r.State(now)})
			}
			w := e.stdout
			fmt.Fprintf(w, "review %d: %s %s\n", r.ID, r.ControlID, r.Title)
			res := r.ResourceID
			if res == "" {
				res = "(the whole estate)"
			}
			fmt.Fprintf(w, "resource:    %s\n", res)
			fmt.Fprintf(w, "state:       %s (due by %s)\n", r.State(now), r.DueBy.In(loc).Format(time.DateOnly))
			fmt.Fprintf(w, "period:      %s (%s)\n", period(r.DueAt, r.NextDueAt, loc), r.Periodicity)
			fmt.Fprintf(w, "owner:       %s\n", r.Owner)
			if r.Area != "" {
				fmt.Fprintf(w, "area:        %s\n", r.Area)
			}
			fmt.Fprintln(w, "procedure:")
			for _, line := range strings.Split(strings.TrimRight(r.Procedure, "\n"), "\n") {
				fmt.Fprintf(w, "  %s\n", line)
			}
			if at := r.Attestation; at != nil {
				fmt.Fprintf(w, "attested:    by %s on %s: %s\n", at.By, at.At.In(loc).Format(time.DateOnly), at.Statement)
				fmt.Fprintf(w, "covers:      %s\n", period(r.PeriodStart, r.PeriodEnd, loc))
			}
			if len(r.Evidence) > 0 {
				fmt.Fprintln(w, "evidence:")
				for _, ev := range r.Evidence {
					what := ev.Name
					if ev.Kind == rampart.EvidenceLink {
						what = ev.URL
					}
					fmt.Fprintf(w, "  %s %s %s (%s, %d bytes), expires %s\n", ev.SHA256, ev.Kind, what, ev.MediaType, ev.Size,
						ev.ExpiresAt.In(loc).Format(time.DateOnly))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "text or json")
	return cmd
}

func newReviewCompleteCmd(e *env) *cobra.Command {
	var attest, by, start, end string
	var files, links []string
	cmd := &cobra.Command{
		Use:   "complete ID",
		Short: "Complete a review with an attestation and evidence (files or links)",
		Long: `Complete closes a review. It needs an attestation (--attest: what was checked
and found; --by: who attests, by default the user running the command) and at
least one piece of evidence: a file (--evidence, stored in Rampart's
evidence store under its SHA-256) or a link (--link, to a ticket, a wiki page
or a report kept elsewhere). The evidence covers the review's period unless
--period-start and --period-end say otherwise, and expires when the next
review of the control comes due. The completion is written to the audit log.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := reviewID(args[0])
			if err != nil {
				return err
			}
			if strings.TrimSpace(attest) == "" {
				return usageErrorf("--attest is required: say what was checked and what was found")
			}
			if len(files) == 0 && len(links) == 0 {
				return usageErrorf("give evidence: --evidence FILE or --link URL (repeatable)")
			}
			a, err := e.loadApp(e.registerPath(""))
			if err != nil {
				return err
			}
			loc := a.cfg.Schedule.TimeZone
			c := rampart.ReviewCompletion{By: by, Statement: attest, At: e.now(), Source: "cli"}
			if c.By == "" {
				c.By = cliActor(e)
			}
			if c.PeriodStart, err = day(start, loc, "--period-start"); err != nil {
				return err
			}
			if c.PeriodEnd, err = day(end, loc, "--period-end"); err != nil {
				return err
			}
			if !c.PeriodEnd.IsZero() && len(end) == len(time.DateOnly) {
				c.PeriodEnd = c.PeriodEnd.AddDate(0, 0, 1) // through the end of that day
			}
			for _, f := range files {
				content, err := os.ReadFile(f) // #nosec G304 -- the user names the file to upload
				if err != nil {
					return usageErrorf("--evidence: %v", err)
				}
				c.Evidence = append(c.Evidence, rampart.EvidenceInput{
					Kind: rampart.EvidenceUpload, Name: filepath.Base(f), MediaType: mime.TypeByExtension(filepath.Ext(f)), Content: content,
				})
			}
			for _, l := range links {
				c.Evidence = append(c.Evidence, rampart.EvidenceInput{Kind: rampart.EvidenceLink, URL: l})
			}
			db, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			r, err := db.CompleteReview(cmd.Context(), id, c)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "review %d completed by %s: %d piece(s) of evidence covering %s, valid until %s\n",
				r.ID, c.By, len(r.Evidence), period(r.PeriodStart, r.PeriodEnd, loc), r.NextDueAt.In(loc).Format(time.DateOnly))
			for _, ev := range r.Evidence {
				fmt.Fprintf(e.stdout, "  %s %s %s\n", ev.SHA256, ev.Kind, joinNonEmpty(" ", ev.Name, ev.URL))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&attest, "attest", "", "the attestation: what was checked and found (required)")
	cmd.Flags().StringVar(&by, "by", "", "who attests (default cli:$USER)")
	cmd.Flags().StringArrayVar(&files, "evidence", nil, "a file to attach as evidence (repeatable)")
	cmd.Flags().StringArrayVar(&links, "link", nil, "a link to attach as evidence (repeatable)")
	cmd.Flags().StringVar(&start, "period-start", "", "first day the evidence covers, YYYY-MM-DD or RFC 3339 (default: the review's period)")
	cmd.Flags().StringVar(&end, "period-end", "", "last day the evidence covers, YYYY-MM-DD or RFC 3339 (default: the review's period)")
	return cmd
}

// day reads YYYY-MM-DD (midnight in loc) or RFC 3339; empty is zero.
func day(s string, loc *time.Location, flag string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usageErrorf("%s: %q is neither YYYY-MM-DD nor RFC 3339", flag, s)
	}
	return t, nil
}
