package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rampart-dev/rampart/integrations/tlsendpoint/tlsendpointtest"
	"github.com/rampart-dev/rampart/internal/cli"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(cli.Main(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
	}
	testscript.Main(m, map[string]func(){
		"rampart": func() {
			os.Exit(cli.Main(context.Background(), os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

// TestScripts runs the command-line scenarios in testdata/script: each file
// is a command line with its expected output and exit code.
// UPDATE_GOLDEN=1 rewrites the expected output in place.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       os.Getenv("UPDATE_GOLDEN") == "1",
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			env.Setenv("NO_COLOR", "1")
			env.Setenv("XDG_CACHE_HOME", filepath.Join(env.WorkDir, ".cache"))
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"tlsfleet":   cmdTLSFleet,
			"statuses":   cmdStatuses,
			"sarifvalid": cmdSARIFValid,
			"expand":     cmdExpand,
			"fakesecret": cmdFakeSecret,
		},
	})
}

// fleets holds each script's running TLS fleet and its CA.
var fleets sync.Map // *testscript.TestScript -> *fleet

type fleet struct {
	ca *tlsendpointtest.CA
	f  *tlsendpointtest.Fleet
}

// cmdTLSFleet serves TLS endpoints on loopback for a script:
//
//	tlsfleet start NAME=PROFILE...  serve them, write $WORK/ca.pem, set $TLS_ADDR
//	tlsfleet set NAME PROFILE       give NAME a new certificate of that profile
func cmdTLSFleet(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: tlsfleet start NAME=PROFILE... | tlsfleet set NAME PROFILE")
	}
	switch args[0] {
	case "start":
		ca, err := tlsendpointtest.NewCA("Script CA")
		ts.Check(err)
		ts.Check(ca.WriteBundle(ts.MkAbs("ca.pem")))
		var eps []tlsendpointtest.Endpoint
		for _, a := range args[1:] {
			name, prof, ok := strings.Cut(a, "=")
			if !ok {
				ts.Fatalf("want NAME=PROFILE, got %q", a)
			}
			ep, err := ca.Endpoint(name, tlsendpointtest.Profile(prof), time.Now())
			ts.Check(err)
			eps = append(eps, ep)
		}
		f, err := tlsendpointtest.StartFleet(eps)
		ts.Check(err)
		ts.Defer(func() { f.Close() })
		fleets.Store(ts, &fleet{ca: ca, f: f})
		ts.Setenv("TLS_ADDR", f.Addr)
	case "set":
		if len(args) != 3 {
			ts.Fatalf("usage: tlsfleet set NAME PROFILE")
		}
		v, ok := fleets.Load(ts)
		if !ok {
			ts.Fatalf("tlsfleet set before tlsfleet start")
		}
		fl := v.(*fleet)
		ep, err := fl.ca.Endpoint(args[1], tlsendpointtest.Profile(args[2]), time.Now())
		ts.Check(err)
		fl.f.Set(ep)
	default:
		ts.Fatalf("unknown tlsfleet verb %q", args[0])
	}
}

// cmdStatuses prints "resource check status" for each result of a
// `rampart scan -o json` report, sorted, so scripts can compare them
// exactly with cmp.
func cmdStatuses(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: statuses REPORT.json")
	}
	var rep struct {
		Results []struct {
			Resource, Check, Status string
		} `json:"results"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &rep))
	lines := make([]string, 0, len(rep.Results))
	for _, r := range rep.Results {
		lines = append(lines, fmt.Sprintf("%s %s %s", r.Resource, r.Check, r.Status))
	}
	sort.Strings(lines)
	fmt.Fprintln(ts.Stdout(), strings.Join(lines, "\n"))
}

// cmdSARIFValid validates a file against the SARIF 2.1.0 JSON schema.
func cmdSARIFValid(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: sarifvalid FILE")
	}
	schemaPath, err := filepath.Abs(filepath.Join("..", "..", "output", "testdata", "sarif-schema-2.1.0.json"))
	ts.Check(err)
	c := jsonschema.NewCompiler()
	sch, err := c.Compile(schemaPath)
	ts.Check(err)
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	ts.Check(err)
	err = sch.Validate(doc)
	switch {
	case err != nil && !neg:
		ts.Fatalf("%s is not valid SARIF 2.1.0: %v", args[0], err)
	case err == nil && neg:
		ts.Fatalf("%s is valid SARIF 2.1.0", args[0])
	}
}

// cmdExpand replaces ${VAR} in files with the script's environment, so a
// register can name the loopback address a fleet was given.
func cmdExpand(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: expand FILE...")
	}
	for _, name := range args {
		out := os.Expand(ts.ReadFile(name), ts.Getenv)
		ts.Check(os.WriteFile(ts.MkAbs(name), []byte(out), 0o644))
	}
}

// cmdFakeSecret writes an AWS-style access key pair into a file and puts
// the key id in $FAKE_KEY_ID and the secret in $FAKE_SECRET, so scripts
// can assert that neither appears anywhere. The values are assembled here
// at run time so that this repository holds no literal key.
func cmdFakeSecret(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: fakesecret FILE")
	}
	id := "AKIA" + "Z7Q4" + "RAMP" + "ART2" + "TEST"
	secret := "wJalrXUt" + "nFEMI7K7" + "MDENGbPx" + "RfiCYzzQ" + "9d8sKpLm"
	body := fmt.Sprintf("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n", id, secret)
	ts.Check(os.MkdirAll(filepath.Dir(ts.MkAbs(args[0])), 0o755))
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(body), 0o644))
	ts.Setenv("FAKE_KEY_ID", id)
	ts.Setenv("FAKE_SECRET", secret)
}
