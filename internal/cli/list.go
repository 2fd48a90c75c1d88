package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// listing is how a list command prints: JSON for machines, a table for
// people, and a sentence when there is nothing.
type listing[T any] struct {
	empty  string           // said when the list is empty
	header []string         // the table's columns
	row    func(T) []string // one item's cells
}

// print writes items as output asks: "json" (an array, never null) or
// "table".
func (l listing[T]) print(e *env, output string, items []T) error {
	switch output {
	case "json":
		if items == nil {
			items = []T{}
		}
		return writeJSON(e.stdout, items)
	case "table", "":
	default:
		return usageErrorf("unknown --output %q (want table or json)", output)
	}
	if len(items) == 0 {
		fmt.Fprintln(e.stdout, l.empty)
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(l.header, "\t"))
	for _, it := range items {
		fmt.Fprintln(tw, strings.Join(l.row(it), "\t"))
	}
	return tw.Flush()
}
