package output

import (
	"encoding/csv"
	"io"
	"strconv"
)

var csvHeader = []string{"resource", "kind", "check", "title", "severity", "status", "item", "file", "line", "message", "fingerprint", "reason"}

// writeCSV writes a row per finding, and a row per result without
// findings. A suppressed finding's reason column reads "suppressed:
// <justification>", an excepted one's "excepted: <reason> (approved by
// <approver>, until <date>)".
func writeCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, e := range r.entries() {
		base := []string{e.res.ResourceID, e.kind(), e.res.CheckID, e.title()}
		if len(e.findings) == 0 {
			reason := e.res.Reason
			if e.exception != nil {
				reason = joinReason(reason, "excepted: "+exceptionNote(e.exception))
			}
			row := append(base, e.severity.String(), string(e.res.Status), "", "", "", "", "", reason)
			if err := cw.Write(neutralize(row)); err != nil {
				return err
			}
			continue
		}
		for i := range e.findings {
			f := &e.findings[i]
			line := ""
			if f.Location.Line > 0 {
				line = strconv.Itoa(f.Location.Line)
			}
			reason := e.res.Reason
			if f.Suppressed != "" {
				reason = "suppressed: " + f.Suppressed
			}
			if x := e.excepted[i]; x != nil {
				reason = joinReason(reason, "excepted: "+exceptionNote(x))
			}
			row := append(append([]string(nil), base...),
				e.findingSeverity(f).String(), string(e.res.Status), f.Item, f.Location.Path, line,
				f.Message, fingerprint(&e, f), reason)
			if err := cw.Write(neutralize(row)); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// neutralize defuses spreadsheet formulas: a cell a spreadsheet would
// evaluate (starting with =, +, -, @, a tab or a carriage return) gets a
// leading apostrophe. Findings quote scanned repositories, and an auditor
// opening the CSV must not run what an attacker committed.
func neutralize(row []string) []string {
	for i, v := range row {
		if v == "" {
			continue
		}
		switch v[0] {
		case '=', '+', '-', '@', '\t', '\r':
			row[i] = "'" + v
		}
	}
	return row
}
