package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart"
)

func newAuditCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "The append-only, hash-chained audit log",
	}
	cmd.AddCommand(newAuditVerifyCmd(e), newAuditLogCmd(e))
	return cmd
}

func newAuditVerifyCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Prove that no audit entry was edited or removed",
		Long: `Verify walks the audit log from its first entry and recomputes each entry's
hash from its content and its predecessor's hash. It exits 0 when the whole
chain holds and 1 naming the first broken entry otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			v, err := db.VerifyAudit(cmd.Context())
			if err != nil {
				return err
			}
			if !v.OK {
				return &exitCodeError{code: exitFindings, err: fmt.Errorf("audit chain broken at entry %d: %s (%d entries read)", v.BrokenAt, v.Problem, v.Entries)}
			}
			fmt.Fprintf(e.stdout, "audit chain intact: %d entries\n", v.Entries)
			return nil
		},
	}
}

func newAuditLogCmd(e *env) *cobra.Command {
	var f rampart.AuditFilter
	var output string
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Show audit entries, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			list, err := db.AuditLog(cmd.Context(), f)
			if err != nil {
				return err
			}
			return listing[rampart.AuditEntry]{
				empty:  "no audit entries match",
				header: []string{"SEQ", "AT", "ACTOR", "ACTION", "OBJECT"},
				row: func(x rampart.AuditEntry) []string {
					return []string{strconv.FormatInt(x.Seq, 10), x.At.Format(time.RFC3339), x.Actor, x.Action, x.Object}
				},
			}.print(e, output, list)
		},
	}
	cmd.Flags().StringVar(&f.Actor, "actor", "", "only entries by this actor")
	cmd.Flags().StringVar(&f.Action, "action", "", "only entries with this action")
	cmd.Flags().StringVar(&f.Object, "object", "", "only entries about this object")
	cmd.Flags().IntVar(&f.Limit, "limit", 100, "at most this many entries")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}
