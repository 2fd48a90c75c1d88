package cli

import (
	"fmt"
	"strconv"
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
			now := e.now()
			return listing[rampart.APIToken]{
				empty:  "no tokens",
				header: []string{"ID", "NAME", "PREFIX", "ROLE", "STATE", "EXPIRES", "CREATED BY", "LAST USED"},
				row: func(t rampart.APIToken) []string {
					state := "active"
					switch {
					case !t.RevokedAt.IsZero():
						state = "revoked"
					case !t.Active(now):
						state = "expired"
					}
					return []string{
						strconv.FormatInt(t.ID, 10), t.Name, t.Prefix + "…", string(t.Role), state,
						dateOrDash(t.ExpiresAt), t.CreatedBy, dateOrDash(t.LastUsedAt),
					}
				},
			}.print(e, output, tokens)
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
