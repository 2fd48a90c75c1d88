package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart"
)

func newChecksCmd(e *env) *cobra.Command {
	var kind, output string
	cmd := &cobra.Command{
		Use:   "checks",
		Short: "List every check: built-in and your CEL checks",
		Long: `Checks lists every check of every integration, and the CEL checks the
register names, with the resource kind each reads and the controls it
evidences. 'rampart explain ID' shows one in full.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			cat, err := e.catalogOnly()
			if err != nil {
				return err
			}
			var list []*rampart.Check
			for _, c := range cat.Checks {
				if kind == "" || string(c.Kind) == kind {
					list = append(list, c)
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
			fmt.Fprintln(tw, "ID\tKIND\tSEVERITY\tCONTROLS\tTITLE")
			for _, c := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Kind, c.Severity, strings.Join(c.Controls, ","), c.Title)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%d checks\n", len(list))
			return nil
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "only checks of this resource kind")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func newExplainCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "explain CHECK-ID",
		Short: "Explain a check: what it reads, why it matters, how to fix a failure",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			cat, err := e.catalogOnly()
			if err != nil {
				return err
			}
			c := cat.Check(args[0])
			if c == nil {
				return usageErrorf("unknown check %q (see `rampart checks`)", args[0])
			}
			w := e.stdout
			fmt.Fprintf(w, "%s (v%d)  %s\n\n", c.ID, c.Version, c.Title)
			fmt.Fprintf(w, "Kind:     %s\nSeverity: %s\n", c.Kind, c.Severity)
			fmt.Fprintln(w, "Controls:")
			for _, id := range c.Controls {
				if ctl := cat.Control(id); ctl != nil {
					fmt.Fprintf(w, "  %-8s %s [%s]\n", id, ctl.Title, strings.Join(ctl.Criteria, ", "))
				}
			}
			fmt.Fprintf(w, "\nWhat it reads and why:\n%s\n", indent(wrap(c.Doc, 76), "  "))
			fmt.Fprintf(w, "\nRemediation:\n%s\n", indent(wrap(c.Remediation, 76), "  "))
			return nil
		},
	}
}
