package cli

import (
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/web"
)

func newTokenCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage API tokens for programs calling the API",
		Long: `Token makes, lists and revokes API tokens. A token has a role and an expiry;
its secret is printed once, when it is made, and kept only as a SHA-256
hash. Programs send it as "Authorization: Bearer rpt_…".`,
	}
	cmd.AddCommand(newTokenCreateCmd(e), newTokenListCmd(e), newTokenRevokeCmd(e))
	return cmd
}

func newTokenCreateCmd(e *env) *cobra.Command {
	var role, expires string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Make a token and print its secret, once",
		Example: `  rampart token create ci --role viewer --expires 90d
  rampart token create grafana --role viewer --expires 2027-06-30`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := rampart.ParseRole(role)
			if err != nil {
				return usageErrorf("--role: %v", err)
			}
			exp, err := parseExpiry(expires, e.now())
			if err != nil {
				return err
			}
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			secret, t := web.NewToken(args[0], r, exp)
			t.CreatedAt = e.now()
			t, err = db.CreateToken(cmd.Context(), t, e.cliActorRef())
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stderr, "token %d (%s, role %s) expires %s; its secret is shown this once:\n",
				t.ID, t.Name, t.Role, t.ExpiresAt.UTC().Format(time.DateOnly))
			fmt.Fprintln(e.stdout, secret)
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "admin, editor, auditor or viewer (required)")
	cmd.Flags().StringVar(&expires, "expires", "90d", "expiry: 2027-01-31, an RFC 3339 time or 90d")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newTokenListCmd(e *env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			tokens, err := db.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			switch output {
			case "json":
				if tokens == nil {
					tokens = []rampart.APIToken{}
				}
				return writeJSON(e.stdout, tokens)
			case "table", "":
			default:
				return usageErrorf("unknown --output %q (want table or json)", output)
			}
			if len(tokens) == 0 {
				fmt.Fprintln(e.stdout, "no tokens")
				return nil
			}
			now := e.now()
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tROLE\tSTATE\tEXPIRES\tCREATED BY\tLAST USED")
			for _, t := range tokens {
				state := "active"
				switch {
				case !t.RevokedAt.IsZero():
					state = "revoked"
				case !t.Active(now):
					state = "expired"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Prefix, t.Role, state,
					dateOrDash(t.ExpiresAt), t.CreatedBy, dateOrDash(t.LastUsedAt))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func newTokenRevokeCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErrorf("token id %q is not a number (see `rampart token list`)", args[0])
			}
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			if err := db.RevokeToken(cmd.Context(), id, e.cliActorRef(), e.now()); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "token %d revoked\n", id)
			return nil
		},
	}
}
