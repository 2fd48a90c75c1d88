package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/web"
)

func newUserCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage the people who sign in to `rampart serve`",
		Long: `User adds, lists, disables and re-enables the local users of the web
dashboard and API, and sets their passwords. Passwords are hashed with
argon2id; they are read from standard input, never from the command line.

The first admin is made the same way, by whoever can open the store:

  rampart user add --role admin --password-stdin alice

Roles: admin (everything, users and tokens), editor (tasks, exceptions,
scans), viewer (reads), auditor (reads, the evidence and the audit log; an
auditor needs --expires). Users who sign in through OpenID Connect are
created at their first sign-in.`,
	}
	cmd.AddCommand(newUserAddCmd(e), newUserListCmd(e), newUserSetDisabledCmd(e, true), newUserSetDisabledCmd(e, false), newUserPasswdCmd(e))
	return cmd
}

func (e *env) cliActorRef() rampart.Actor { return rampart.Actor{Name: cliActor(e), Source: "cli"} }

// readPassword reads one line from standard input, without echo when it
// is a terminal.
func (e *env) readPassword() (string, error) {
	if f, ok := e.stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprint(e.stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", usageErrorf("no password on standard input")
	}
	return line, nil
}

// parseExpiry reads YYYY-MM-DD (the end of that day, UTC), an RFC 3339
// time, or a duration from now such as 90d or 720h.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Add(24*time.Hour - time.Second), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err == nil && days > 0 {
			return now.AddDate(0, 0, days), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	return time.Time{}, usageErrorf("--expires %q: want a date (2027-01-31), a time (RFC 3339) or a duration (90d, 720h)", s)
}

func newUserAddCmd(e *env) *cobra.Command {
	var role, expires, display, email string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a local user; the password is read from standard input",
		Example: `  rampart user add --role admin --password-stdin alice
  printf '%s\n' "$PASSWORD" | rampart user add --role editor --password-stdin bob
  rampart user add --role auditor --expires 2027-01-31 --password-stdin carol@audit.example`,
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
			if !passwordStdin {
				return usageErrorf("give the password on standard input with --password-stdin: Rampart has no default password")
			}
			pw, err := e.readPassword()
			if err != nil {
				return err
			}
			hash, err := web.HashPassword(pw)
			if err != nil {
				return err
			}
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			u, err := db.CreateUser(cmd.Context(), rampart.User{
				Name: args[0], Role: r, Source: rampart.UserLocal, DisplayName: display, Email: email,
				ExpiresAt: exp, PasswordHash: hash, CreatedAt: e.now(),
			}, e.cliActorRef())
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "user %s added with role %s", u.Name, u.Role)
			if !u.ExpiresAt.IsZero() {
				fmt.Fprintf(e.stdout, ", until %s", u.ExpiresAt.UTC().Format(time.DateOnly))
			}
			fmt.Fprintln(e.stdout)
			return nil
		},
	}
	cmd.Flags().StringVar(&role, "role", "", "admin, editor, auditor or viewer (required)")
	cmd.Flags().StringVar(&expires, "expires", "", "end of access: 2027-01-31, an RFC 3339 time or 90d (required for auditors)")
	cmd.Flags().StringVar(&display, "display-name", "", "the name shown in the dashboard")
	cmd.Flags().StringVar(&email, "email", "", "the user's email address")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input (required)")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

func newUserListCmd(e *env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			users, err := db.Users(cmd.Context())
			if err != nil {
				return err
			}
			now := e.now()
			return listing[rampart.User]{
				empty:  "no users: add the first admin with `rampart user add --role admin --password-stdin NAME`",
				header: []string{"NAME", "ROLE", "SOURCE", "STATE", "EXPIRES", "LAST SIGN-IN"},
				row: func(u rampart.User) []string {
					state := "active"
					switch {
					case u.Disabled:
						state = "disabled"
					case !u.Active(now):
						state = "expired"
					}
					return []string{u.Name, string(u.Role), u.Source, state, dateOrDash(u.ExpiresAt), dateOrDash(u.LastLoginAt)}
				},
			}.print(e, output, users)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func dateOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}

func newUserSetDisabledCmd(e *env, disable bool) *cobra.Command {
	use, short := "enable NAME", "Let a disabled user sign in again"
	if disable {
		use, short = "disable NAME", "Stop a user from signing in and end their sessions"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			u, err := db.User(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			u.Disabled = disable
			if _, err := db.UpdateUser(cmd.Context(), u, e.cliActorRef()); err != nil {
				return err
			}
			state := "enabled"
			if disable {
				state = "disabled; their sessions are ended"
			}
			fmt.Fprintf(e.stdout, "user %s %s\n", u.Name, state)
			return nil
		},
	}
}

func newUserPasswdCmd(e *env) *cobra.Command {
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "passwd NAME",
		Short: "Set a local user's password, read from standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !passwordStdin {
				return usageErrorf("give the password on standard input with --password-stdin")
			}
			pw, err := e.readPassword()
			if err != nil {
				return err
			}
			hash, err := web.HashPassword(pw)
			if err != nil {
				return err
			}
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			u, err := db.User(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if u.Source != rampart.UserLocal {
				return usageErrorf("user %s signs in through single sign-on and has no password here", u.Name)
			}
			u.PasswordHash = hash
			if _, err := db.UpdateUser(cmd.Context(), u, e.cliActorRef()); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "password of %s changed\n", u.Name)
			return nil
		},
	}
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input (required)")
	return cmd
}
