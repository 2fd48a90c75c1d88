package rampart

import "context"

// Collector gathers the facts of one resource. It must honour ctx (the
// engine sets a per-resource timeout) and return an error, never partial
// facts that would let a check pass, when it could not see what it needs.
type Collector interface {
	Collect(ctx context.Context, r *Resource) (Facts, error)
}

// CollectorFunc adapts a function to Collector.
type CollectorFunc func(ctx context.Context, r *Resource) (Facts, error)

// Collect implements Collector.
func (f CollectorFunc) Collect(ctx context.Context, r *Resource) (Facts, error) { return f(ctx, r) }

// Env is what an integration may read from the process's surroundings,
// passed down from main so that tests run the real wiring.
type Env struct {
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
}

// Integration describes one system Rampart can check, the way Caddy
// modules describe themselves: a kind, a typed configuration that validates
// itself, a constructor and its checks.
type Integration struct {
	Kind Kind
	// Title is a short human name ("TLS endpoint").
	Title string
	// Doc explains the kind's spec and what it collects.
	Doc string
	// NewSpec returns a pointer to a fresh typed configuration, with
	// defaults set, for the register to decode a resource's spec into. Nil
	// for kinds without configuration.
	NewSpec func() Spec
	// NewCollector builds the collector. It is called once per scan.
	NewCollector func(env Env) Collector
	// Checks are the integration's built-in checks.
	Checks []*Check
}

// Spec is an integration's typed configuration of one resource.
type Spec interface {
	// Validate reports what is wrong with the decoded configuration; the
	// register adds the file and line.
	Validate() error
}

// InventoryKinds are kinds the register accepts before an integration
// checks them automatically: their controls are evidenced by reviews. A
// kind leaves this list when its integration joins integrations.All().
var InventoryKinds = []Kind{
	"container-image", "helm-chart",
	"cloudflare-zone", "proxmox", "ceph", "flux", "terraform",
	"vault", "onepassword", "opnsense", "prometheus", "logging", "backup",
	"pki", "process", "device-fleet",
}

// BaseDirSpec is implemented by specs that hold file paths: the register
// calls SetBaseDir with the directory of the file that declared the
// resource, so that relative paths mean what the user wrote.
type BaseDirSpec interface {
	SetBaseDir(dir string)
}
