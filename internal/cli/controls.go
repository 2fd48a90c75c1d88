package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
)

// catalogOnly loads the catalog the register names when a register exists,
// else the embedded catalog with the built-in checks: listing controls and
// checks needs no register.
func (e *env) catalogOnly() (*catalog.Catalog, error) {
	path := e.registerPath("")
	if _, err := os.Stat(path); err == nil {
		a, err := e.loadApp(path)
		if err != nil {
			return nil, err
		}
		return a.cat, nil
	}
	return catalog.Load(builtinChecks())
}

func newControlsCmd(e *env) *cobra.Command {
	var area, criterion, output string
	cmd := &cobra.Command{
		Use:   "controls",
		Short: "List the controls of the catalog",
		Long: `Controls lists the company's controls: the embedded catalog derived from the
platform register, with the register's own additions and overrides. Filter
by area (a prefix: "infrastructure" matches "infrastructure/ceph") or by a
criterion id (SOC 2 "CC6.1" or ISO "A.8.24").

  rampart controls --criterion CC6.1
  rampart controls show PKI-01`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cat, err := e.catalogOnly()
			if err != nil {
				return err
			}
			var list []*rampart.Control
			for _, c := range cat.Controls {
				if area != "" && c.Area != area && !strings.HasPrefix(c.Area, area+"/") {
					continue
				}
				if criterion != "" && !slices.Contains(c.Criteria, criterion) {
					continue
				}
				list = append(list, c)
			}
			if criterion != "" {
				if _, ok := cat.Criterion(criterion); !ok {
					return usageErrorf("unknown criterion %q (see `rampart criteria`)", criterion)
				}
			}
			switch output {
			case "json":
				return writeJSON(e.stdout, list)
			case "table", "":
			default:
				return usageErrorf("unknown --output %q (want table or json)", output)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAREA\tPERIODICITY\tEVIDENCE\tCRITERIA\tTITLE")
			for _, c := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Area, c.Periodicity, evidenceKind(c),
					strings.Join(c.Criteria, ","), c.Title)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%d controls\n", len(list))
			return nil
		},
	}
	cmd.Flags().StringVar(&area, "area", "", "only controls in this area (prefix)")
	cmd.Flags().StringVar(&criterion, "criterion", "", "only controls that support this criterion id")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	cmd.AddCommand(newControlShowCmd(e))
	return cmd
}

func evidenceKind(c *rampart.Control) string {
	switch {
	case c.Automated() && c.Manual():
		return "checks+review"
	case c.Automated():
		return "checks"
	}
	return "review"
}

func newControlShowCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Explain one control: statement, criteria, checks, review procedure",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			cat, err := e.catalogOnly()
			if err != nil {
				return err
			}
			c := cat.Control(args[0])
			if c == nil {
				return usageErrorf("unknown control %q (see `rampart controls`)", args[0])
			}
			w := e.stdout
			fmt.Fprintf(w, "%s  %s\n\n%s\n\n", c.ID, c.Title, wrap(c.Statement, 78))
			fmt.Fprintf(w, "Area:        %s\nOwner:       %s\nPeriodicity: %s\n", c.Area, c.Owner, c.Periodicity)
			fmt.Fprintln(w, "\nCriteria:")
			for _, id := range c.Criteria {
				if cr, ok := cat.Criterion(id); ok {
					fmt.Fprintf(w, "  %-8s %s (%s)\n", id, cr.Title, cr.Category)
				} else {
					fmt.Fprintf(w, "  %s\n", id)
				}
			}
			if len(c.Checks) > 0 {
				fmt.Fprintln(w, "\nChecks:")
				for _, id := range c.Checks {
					if ch := cat.Check(id); ch != nil {
						fmt.Fprintf(w, "  %-26s %-8s %-18s %s\n", ch.ID, ch.Severity, ch.Kind, ch.Title)
					}
				}
			}
			if c.Procedure != "" {
				fmt.Fprintf(w, "\nReview procedure:\n%s\n", indent(strings.TrimSpace(c.Procedure), "  "))
			}
			return nil
		},
	}
}

func newCriteriaCmd(e *env) *cobra.Command {
	var framework string
	cmd := &cobra.Command{
		Use:   "criteria",
		Short: "List the criteria of SOC 2 and ISO/IEC 27001:2022 Annex A, with their controls",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cat, err := e.catalogOnly()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "FRAMEWORK\tID\tCATEGORY\tCONTROLS\tTITLE")
			for _, fw := range cat.Frameworks {
				if framework != "" && fw.ID != framework {
					continue
				}
				for _, cr := range fw.Criteria {
					var ids []string
					for _, c := range cat.ControlsForCriterion(cr.ID) {
						ids = append(ids, c.ID)
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", fw.ID, cr.ID, cr.Category, strings.Join(ids, ","), cr.Title)
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&framework, "framework", "", "soc2 or iso27001 (default both)")
	return cmd
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func wrap(s string, width int) string {
	var b strings.Builder
	n := 0
	for _, word := range strings.Fields(s) {
		if n > 0 && n+1+len(word) > width {
			b.WriteByte('\n')
			n = 0
		} else if n > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
