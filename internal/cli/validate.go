package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newValidateCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a register and the catalog it names",
		Long: `Validate reads the register (FILE, else --config, $RAMPART_CONFIG or
./rampart.yaml), the control files and CEL checks it names, and reports every
problem with its file, line, column and field: unknown fields and kinds, bad
periodicities, inline credentials (write env:NAME or file:PATH instead), and
controls that do not exist. It exits 0 when the register is valid, 2 when not.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path := e.registerPath("")
			if len(args) == 1 {
				path = args[0]
			}
			a, err := e.loadApp(path)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: valid (%d resources, %d controls, %d checks)\n",
				path, len(a.cfg.Resources), len(a.cat.Controls), len(a.cat.Checks))
			return nil
		},
	}
}
