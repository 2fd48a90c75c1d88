package cli

import (
	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart/register"
)

func newSchemaCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of rampart.yaml, for editors",
		Long: `Schema prints the JSON Schema (draft 2020-12) of the register. Save it and
point your editor at it, e.g. with the YAML language server:

  rampart schema > rampart.schema.json
  # first line of rampart.yaml:
  # yaml-language-server: $schema=./rampart.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b, err := register.Schema(kinds())
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(append(b, '\n'))
			return err
		},
	}
}
