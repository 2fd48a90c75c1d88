package cli

import (
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart"
)

func newExceptCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "except",
		Short: "Accepted risks: suppress a finding or a check on a resource until a date",
		Long: `An exception accepts the risk of one finding (--finding FINGERPRINT) or of
every finding of one check on one resource, for a reason, approved by
someone, until an expiry date. Its tasks leave the TODO list until then and
come back by themselves when it expires. All three of reason, approver and
expiry are required.

  rampart except add --check TLS-EXPIRING-30D --resource shop-tls \
      --reason "renewal scheduled with the vendor" --approver ciso --expires 2026-12-31`,
	}
	cmd.AddCommand(newExceptAddCmd(e), newExceptListCmd(e), newExceptRevokeCmd(e))
	return cmd
}

func newExceptAddCmd(e *env) *cobra.Command {
	var ex rampart.Exception
	var expires string
	cmd := &cobra.Command{
		Use:   "add",
		Short: "Add an exception (reason, approver and expiry required)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if expires != "" {
				t, err := parseDate(expires)
				if err != nil {
					return usageErrorf("--expires: %v", err)
				}
				ex.ExpiresAt = t
			}
			now := e.now()
			if err := ex.Validate(now); err != nil {
				return usageErrorf("%v", err)
			}
			a, err := e.loadApp(e.registerPath(""))
			if err != nil {
				return err
			}
			if a.cat.Check(ex.CheckID) == nil {
				return usageErrorf("unknown check %q (see `rampart checks`)", ex.CheckID)
			}
			if a.cfg.Resource(ex.ResourceID) == nil {
				return usageErrorf("unknown resource %q (see rampart.yaml)", ex.ResourceID)
			}
			db, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			ex.CreatedBy, ex.CreatedAt = cliActor(e), now
			saved, err := db.AddException(cmd.Context(), ex)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "exception %d: %s on %s until %s\n", saved.ID, saved.CheckID, saved.ResourceID, saved.ExpiresAt.Format(time.DateOnly))
			return nil
		},
	}
	cmd.Flags().StringVar(&ex.CheckID, "check", "", "the check id (required)")
	cmd.Flags().StringVar(&ex.ResourceID, "resource", "", "the resource id (required)")
	cmd.Flags().StringVar(&ex.Fingerprint, "finding", "", "one finding's fingerprint (default: every finding of the check on the resource)")
	cmd.Flags().StringVar(&ex.Reason, "reason", "", "why the risk is accepted (required)")
	cmd.Flags().StringVar(&ex.Approver, "approver", "", "who approved it (required)")
	cmd.Flags().StringVar(&expires, "expires", "", "expiry, YYYY-MM-DD or RFC 3339 (required)")
	return cmd
}

// parseDate reads YYYY-MM-DD (end of that day, UTC) or RFC 3339.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Add(24*time.Hour - time.Second), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither YYYY-MM-DD nor RFC 3339", s)
	}
	return t, nil
}

func newExceptListCmd(e *env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List active exceptions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			list, err := db.Exceptions(cmd.Context(), e.now())
			if err != nil {
				return err
			}
			return listing[rampart.Exception]{
				empty:  "no active exceptions",
				header: []string{"ID", "CHECK", "RESOURCE", "FINDING", "EXPIRES", "APPROVER", "REASON"},
				row: func(x rampart.Exception) []string {
					fp := x.Fingerprint
					if fp == "" {
						fp = "(all)"
					}
					return []string{strconv.FormatInt(x.ID, 10), x.CheckID, x.ResourceID, fp, x.ExpiresAt.Format(time.DateOnly), x.Approver, x.Reason}
				},
			}.print(e, output, list)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func newExceptRevokeCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke an exception: its tasks come back at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErrorf("exception id %q is not a number", args[0])
			}
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.RevokeException(cmd.Context(), id, cliActor(e), e.now()); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "exception %d revoked\n", id)
			return nil
		},
	}
}
