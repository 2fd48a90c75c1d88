package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart/register"
)

func newInitCmd(e *env) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a starter rampart.yaml that holds your register",
		Long: `Init writes DIR/rampart.yaml (DIR defaults to the current directory): a
starter register with every area of the platform register (source control,
containers and charts, CI/CD, infrastructure, security, people and
processes) as commented examples with their review periodicities. The local
machine is active as a server resource, so 'rampart scan' works at once.

It refuses to overwrite an existing file unless --force is given.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("create %s: %w", dir, err)
			}
			path := filepath.Join(dir, "rampart.yaml")
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(path, flags, 0o644)
			if errors.Is(err, fs.ErrExist) {
				return usageErrorf("%s already exists; pass --force to overwrite it", path)
			}
			if err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			if _, err := f.Write(register.Starter()); err != nil {
				f.Close()
				return fmt.Errorf("write %s: %w", path, err)
			}
			if err := f.Close(); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
			fmt.Fprintf(e.stdout, "wrote %s\nnext: edit it, then run `rampart validate` and `rampart scan`\n", path)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing rampart.yaml")
	return cmd
}
