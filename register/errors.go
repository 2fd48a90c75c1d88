package register

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/rampart-dev/rampart"
)

// Error is one problem in a register file, at the place a person has to
// look to fix it.
type Error struct {
	Pos rampart.Position
	// Field is the path to the offending value, as in
	// "resources[2].spec.address"; empty for problems with the file itself.
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	if p := e.Pos.String(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// As lets rampart.KindOf (and errors.As with a *rampart.Error target) see
// a register error as the domain's invalid-input error.
func (e *Error) As(target any) bool {
	if t, ok := target.(**rampart.Error); ok {
		*t = &rampart.Error{Kind: rampart.KindInvalid, Message: e.Error()}
		return true
	}
	return false
}

// ErrorList is every problem found in a register, sorted by position. Load
// and Parse return it (never wrapped) when the file is not valid, so that a
// person fixes all of them in one pass.
type ErrorList []*Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each *Error to errors.As and errors.Is.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// As makes the whole list a *rampart.Error of kind invalid, with every line
// as its message, so that rampart.KindOf reports KindInvalid.
func (l ErrorList) As(target any) bool {
	if t, ok := target.(**rampart.Error); ok && len(l) > 0 {
		*t = &rampart.Error{Kind: rampart.KindInvalid, Message: l.Error()}
		return true
	}
	return false
}

// Err returns the list as an error, sorted and without repeats, or nil
// when it is empty.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	l.sort()
	return slices.CompactFunc(l, func(a, b *Error) bool {
		return a.Pos == b.Pos && a.Field == b.Field && a.Msg == b.Msg
	})
}

func (l ErrorList) sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column),
			cmp.Compare(a.Field, b.Field),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
}

// suggest returns the candidate a person most likely meant by got, or "".
// It forgives case, separators (server_name for serverName) and up to one
// edit per three letters.
func suggest(got string, candidates []string) string {
	norm := func(s string) string {
		return strings.ToLower(separators.Replace(s))
	}
	best, bestDist := "", -1
	for _, c := range candidates {
		if norm(c) == norm(got) {
			return c
		}
		d := editDistance(strings.ToLower(got), strings.ToLower(c))
		limit := max(1, min(3, len(c)/3))
		if d <= limit && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Damerau–Levenshtein distance (optimal string
// alignment), so that swapped letters ("nmae") count as one edit.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		// Names are short; long inputs are not typos worth the quadratic cost.
		if a == b {
			return 0
		}
		return max(len(ra), len(rb))
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// unknown words a message about a name that is not among the known ones:
// the likely intended one, then the known ones, as in
// `unknown kind "tls-endpont" (did you mean "tls-endpoint"? known kinds: ...)`.
func unknown(what, plural, got string, known []string) string {
	shown, secret := display(got)
	var hints []string
	if s := suggest(got, known); s != "" && !secret {
		hints = append(hints, fmt.Sprintf("did you mean %q?", s))
	}
	if len(known) > 0 {
		hints = append(hints, fmt.Sprintf("known %s: %s", plural, strings.Join(known, ", ")))
	}
	if len(hints) == 0 {
		return fmt.Sprintf("unknown %s %s", what, shown)
	}
	return fmt.Sprintf("unknown %s %s (%s)", what, shown, strings.Join(hints, " "))
}
