package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/catalog"
	"github.com/rampart-dev/rampart/celcheck"
	"github.com/rampart-dev/rampart/integrations"
	"github.com/rampart-dev/rampart/register"
	"github.com/rampart-dev/rampart/store"
)

// app is what most commands need: the register, the catalog with every
// check (built-in and the user's CEL checks), and the integrations.
type app struct {
	cfg          *register.Config
	cat          *catalog.Catalog
	integrations []*rampart.Integration
}

func kinds() register.Kinds {
	return register.Kinds{Integrations: integrations.All(), Inventory: rampart.InventoryKinds}
}

// registerPath resolves the register's path: the flag, $RAMPART_CONFIG,
// then ./rampart.yaml.
func (e *env) registerPath(arg string) string {
	switch {
	case arg != "":
		return arg
	case e.configPath != "":
		return e.configPath
	case e.getenv("RAMPART_CONFIG") != "":
		return e.getenv("RAMPART_CONFIG")
	}
	return "rampart.yaml"
}

// builtinChecks lists every integration's checks, sorted by id.
func builtinChecks() []*rampart.Check {
	var out []*rampart.Check
	for _, in := range integrations.All() {
		out = append(out, in.Checks...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// loadApp reads the register at path and builds the catalog it names.
func (e *env) loadApp(path string) (*app, error) {
	if _, err := os.Stat(path); err != nil {
		if os.IsNotExist(err) {
			return nil, usageErrorf("no register at %s: run `rampart init` to write one, or pass --config", path)
		}
		return nil, fmt.Errorf("read register: %w", err)
	}
	cfg, err := register.Load(path, kinds())
	if err != nil {
		return nil, err
	}
	checks := builtinChecks()
	for _, f := range cfg.Catalog.Checks {
		cel, err := celcheck.Load(f)
		if err != nil {
			return nil, err
		}
		checks = append(checks, cel...)
	}
	cat, err := catalog.Load(checks, cfg.Catalog.Controls...)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckControlIDs(func(id string) bool { return cat.Control(id) != nil }); err != nil {
		return nil, err
	}
	return &app{cfg: cfg, cat: cat, integrations: integrations.All()}, nil
}

// storeDSN resolves the register's store setting against its directory.
func (a *app) storeDSN() string {
	s := a.cfg.Settings.Store
	if s == "" {
		s = "rampart.db"
	}
	if filepath.IsAbs(s) || hasScheme(s) {
		return s
	}
	return filepath.Join(a.cfg.Dir, s)
}

func hasScheme(s string) bool {
	for i, c := range s {
		if c == ':' {
			return i > 1
		}
		if !(c >= 'a' && c <= 'z') {
			return false
		}
	}
	return false
}

// openApp loads the register named on the command line and opens its
// store: what every command that reads or changes the store starts with.
// The caller closes the store.
func (e *env) openApp(ctx context.Context) (*app, *store.DB, error) {
	a, err := e.loadApp(e.registerPath(""))
	if err != nil {
		return nil, nil, err
	}
	db, err := a.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	return a, db, nil
}

func (a *app) openStore(ctx context.Context) (*store.DB, error) {
	db, err := store.Open(ctx, a.storeDSN())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", a.storeDSN(), err)
	}
	return db, nil
}

// checkMap indexes the catalog's checks by id.
func (a *app) checkMap() map[string]*rampart.Check {
	m := make(map[string]*rampart.Check, len(a.cat.Checks))
	for _, c := range a.cat.Checks {
		m[c.ID] = c
	}
	return m
}

func (a *app) resourceMap() map[string]*rampart.Resource {
	m := make(map[string]*rampart.Resource, len(a.cfg.Resources))
	for _, r := range a.cfg.Resources {
		m[r.ID] = r
	}
	return m
}

func (a *app) controlMap() map[string]*rampart.Control {
	m := make(map[string]*rampart.Control, len(a.cat.Controls))
	for _, c := range a.cat.Controls {
		m[c.ID] = c
	}
	return m
}
