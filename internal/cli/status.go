package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
)

// statusReport is `rampart status --output json`.
type statusReport struct {
	Categories []rampart.Readiness `json:"categories"`
	Criteria   []rampart.Readiness `json:"criteria"`
	Areas      []rampart.Readiness `json:"areas"`
	Controls   []controlLine       `json:"controls"`
}

type controlLine struct {
	rampart.ControlStatus
	Title string `json:"title"`
	Area  string `json:"area"`
}

func newStatusCmd(e *env) *cobra.Command {
	var output, framework string
	var showControls bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Readiness per SOC 2 category, criterion and area, from the latest results",
		Long: `Status rolls the latest result of every check on every resource up to the
controls, and the controls up to SOC 2 (or ISO 27001) criteria and to the
areas of the register. A control fails when any of its checks fails on any
resource; readiness is the share of evaluated controls that pass. Controls
evidenced only by a person's review count as not evaluated here.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			latest, err := db.Results(cmd.Context(), rampart.ResultFilter{})
			if err != nil {
				return err
			}
			latestReviews, err := db.LatestReviews(cmd.Context())
			if err != nil {
				return err
			}
			overdue, err := db.Reviews(cmd.Context(), rampart.ReviewFilter{OverdueAt: e.now()})
			if err != nil {
				return err
			}
			reviews := rampart.MergeReviews(latestReviews, overdue)
			rep := buildStatus(a.cat, latest, reviews, e.now(), framework)
			switch output {
			case "json":
				return writeJSON(e.stdout, rep)
			case "table", "":
				return printStatus(e.stdout, a.cat, rep, showControls, len(latest)+len(reviews))
			}
			return usageErrorf("unknown --output %q (want table or json)", output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	cmd.Flags().StringVar(&framework, "framework", "soc2", "soc2 or iso27001")
	cmd.Flags().BoolVar(&showControls, "controls", false, "list every control with its status too")
	return cmd
}

// buildStatus rolls results and reviews up: a control fails when a check
// fails on any resource or its review is overdue, and passes on its checks'
// passes and its current reviews.
func buildStatus(cat *catalog.Catalog, latest []rampart.Result, reviews []rampart.Review, now time.Time, framework string) statusReport {
	statuses := rampart.ApplyReviews(rampart.ControlStatuses(cat.Controls, latest), reviews, now)
	inFramework := func(id string) bool {
		cr, ok := cat.Criterion(id)
		return ok && cr.Framework == framework
	}
	rep := statusReport{
		Criteria: rampart.ReadinessBy(cat.Controls, statuses, func(c *rampart.Control) []string {
			var keys []string
			for _, id := range c.Criteria {
				if inFramework(id) {
					keys = append(keys, id)
				}
			}
			return keys
		}),
		Categories: rampart.ReadinessBy(cat.Controls, statuses, func(c *rampart.Control) []string {
			seen := map[string]bool{}
			var keys []string
			for _, id := range c.Criteria {
				if cr, ok := cat.Criterion(id); ok && cr.Framework == framework && !seen[cr.Category] {
					seen[cr.Category] = true
					keys = append(keys, cr.Category)
				}
			}
			return keys
		}),
		Areas: rampart.ReadinessBy(cat.Controls, statuses, func(c *rampart.Control) []string { return []string{c.Area} }),
	}
	for i := range rep.Criteria {
		if cr, ok := cat.Criterion(rep.Criteria[i].Key); ok {
			rep.Criteria[i].Title = cr.Title
		}
	}
	for i := range rep.Areas {
		if ar := cat.Area(rep.Areas[i].Key); ar != nil {
			rep.Areas[i].Title = ar.Title
		}
	}
	for _, c := range cat.Controls {
		rep.Controls = append(rep.Controls, controlLine{ControlStatus: statuses[c.ID], Title: c.Title, Area: c.Area})
	}
	return rep
}

func printStatus(w io.Writer, cat *catalog.Catalog, rep statusReport, showControls bool, results int) error {
	if results == 0 {
		fmt.Fprintln(w, "no results or reviews yet: run `rampart scan` first")
		return nil
	}
	section := func(title string, rows []rampart.Readiness, withTitle bool) error {
		fmt.Fprintf(w, "\n%s\n", title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  KEY\tREADINESS\tPASS\tFAIL\tERROR\tNOT EVALUATED\tTITLE")
		for _, r := range rows {
			pct := "—"
			if r.Passing+r.Failing+r.Errored > 0 {
				pct = fmt.Sprintf("%3.0f%% %s", r.Percent, bar(r.Percent, 10))
			}
			t := ""
			if withTitle {
				t = r.Title
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%d\t%d\t%s\n", r.Key, pct, r.Passing, r.Failing, r.Errored, r.NotEvaluated, t)
		}
		return tw.Flush()
	}
	if err := section("Readiness by category", rep.Categories, false); err != nil {
		return err
	}
	if err := section("Readiness by criterion", rep.Criteria, true); err != nil {
		return err
	}
	if err := section("Readiness by area", rep.Areas, true); err != nil {
		return err
	}
	if showControls {
		fmt.Fprintln(w, "\nControls")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, c := range rep.Controls {
			fmt.Fprintf(tw, "  %s\t%s\t%d pass\t%d fail\t%d error\t%s\n", c.ControlID, c.Status, c.Pass, c.Fail, c.Errors, c.Title)
		}
		return tw.Flush()
	}
	return nil
}

func bar(pct float64, width int) string {
	n := int(pct/100*float64(width) + 0.5)
	return strings.Repeat("█", n) + strings.Repeat("░", width-n)
}
