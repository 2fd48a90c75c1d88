package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/schedule"
)

// LeaseName is the lease the dispatcher that sweeps and re-sends holds.
// Every dispatcher delivers; only the holder watches the store and re-sends
// firing alerts to Alertmanager.
const LeaseName = "notify"

// Defaults of Config's zero fields.
const (
	DefaultPoll        = 5 * time.Second
	DefaultClaimTTL    = 2 * time.Minute
	DefaultMinBackoff  = 10 * time.Second
	DefaultMaxBackoff  = 15 * time.Minute
	DefaultGiveUpAfter = 72 * time.Hour
	DefaultSweep       = time.Minute
	DefaultBatch       = 50
)

// Store is what the dispatcher needs of the store.
type Store interface {
	rampart.OutboxStore
	rampart.LeaseStore
}

// Config is what a Dispatcher needs.
type Config struct {
	Store Store
	// Notify holds the receivers and routes.
	Notify rampart.NotifyConfig
	// Senders send to each receiver by name (NewSenders builds them).
	Senders map[string]Sender
	// Watcher, when set, is swept every Sweep by the lease holder.
	Watcher *Watcher
	Clock   schedule.Clock
	// Holder names this process in claims and the lease.
	Holder string
	// Poll is the longest the dispatcher sleeps; Wake cuts it short.
	Poll time.Duration
	// ClaimTTL is how long a claimed delivery is this process's; it must
	// exceed a send's timeout, and is how long a crashed process's
	// deliveries wait before another takes them.
	ClaimTTL time.Duration
	// Failed attempts are retried after MinBackoff, doubling up to
	// MaxBackoff, until GiveUpAfter since the event; a permanent refusal
	// (HTTP 4xx but 408 and 429) is not retried.
	MinBackoff, MaxBackoff, GiveUpAfter time.Duration
	Sweep                               time.Duration
	Batch                               int
	Logger                              *slog.Logger
}

// Dispatcher routes and delivers notifications from the outbox.
type Dispatcher struct {
	cfg  Config
	wake chan struct{}

	mu         sync.Mutex
	nextSweep  time.Time
	nextResend time.Time
}

// NewDispatcher checks the configuration and fills its defaults.
func NewDispatcher(cfg Config) (*Dispatcher, error) {
	if cfg.Store == nil {
		return nil, errors.New("notify: no store")
	}
	for _, r := range cfg.Notify.Receivers {
		if cfg.Senders[r.Name] == nil {
			return nil, fmt.Errorf("notify: no sender for receiver %s", r.Name)
		}
	}
	if cfg.Clock == nil {
		cfg.Clock = schedule.SystemClock()
	}
	if cfg.Holder == "" {
		cfg.Holder = schedule.DefaultHolder()
	}
	setDefault(&cfg.Poll, DefaultPoll)
	setDefault(&cfg.ClaimTTL, DefaultClaimTTL)
	setDefault(&cfg.MinBackoff, DefaultMinBackoff)
	setDefault(&cfg.MaxBackoff, DefaultMaxBackoff)
	setDefault(&cfg.GiveUpAfter, DefaultGiveUpAfter)
	setDefault(&cfg.Sweep, DefaultSweep)
	setDefault(&cfg.Notify.ResendInterval, time.Minute)
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{cfg: cfg, wake: make(chan struct{}, 1)}, nil
}

func setDefault(d *time.Duration, v time.Duration) {
	if *d <= 0 {
		*d = v
	}
}

// Holder is the name this dispatcher claims deliveries and the lease under.
func (d *Dispatcher) Holder() string { return d.cfg.Holder }

// Wake makes a running dispatcher pass at once: call it after enqueueing
// (the scheduler's AfterPass). It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run passes until ctx is cancelled, then lets go of its claims and lease
// so that another process carries on at once. It returns nil on
// cancellation: it is meant for serve's background tasks.
func (d *Dispatcher) Run(ctx context.Context) error {
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := d.cfg.Store.ReleaseDeliveries(rctx, d.cfg.Holder); err != nil {
			d.cfg.Logger.Warn("release deliveries", "err", err)
		}
		if err := d.cfg.Store.ReleaseLease(rctx, LeaseName, d.cfg.Holder); err != nil {
			d.cfg.Logger.Warn("release notify lease", "err", err)
		}
	}()
	for {
		if _, err := d.Pass(ctx); err != nil && ctx.Err() == nil {
			d.cfg.Logger.Error("notify pass", "err", err)
		}
		t := d.cfg.Clock.NewTimer(d.cfg.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-d.wake:
			t.Stop()
		case <-t.C():
		}
	}
}

// PassResult is what one pass did.
type PassResult struct {
	Leader    bool
	Enqueued  int // by the watcher
	Routed    int
	Delivered int
	Retrying  int
	Failed    int
	Resent    int
}

// Pass sweeps (when it holds the lease and a sweep is due), routes new
// events, re-sends firing alerts to Alertmanager (when due) and delivers
// what is claimable.
func (d *Dispatcher) Pass(ctx context.Context) (PassResult, error) {
	var res PassResult
	var errs []error
	now := d.cfg.Clock.Now()
	_, held, err := d.cfg.Store.AcquireLease(ctx, LeaseName, d.cfg.Holder, now, max(3*d.cfg.Poll, 30*time.Second))
	if err != nil {
		errs = append(errs, err)
	}
	res.Leader = held
	if held {
		d.mu.Lock()
		sweep := d.cfg.Watcher != nil && !now.Before(d.nextSweep)
		resend := !now.Before(d.nextResend)
		if sweep {
			d.nextSweep = now.Add(d.cfg.Sweep)
		}
		if resend {
			d.nextResend = now.Add(d.cfg.Notify.ResendInterval)
		}
		d.mu.Unlock()
		if sweep {
			evs, err := d.cfg.Watcher.Sweep(ctx, now)
			res.Enqueued = len(evs)
			errs = append(errs, err)
		}
		if resend {
			n, err := d.resend(ctx)
			res.Resent = n
			errs = append(errs, err)
		}
	}
	n, err := d.Route(ctx)
	res.Routed = n
	errs = append(errs, err)
	for ctx.Err() == nil {
		delivered, retrying, failed, claimed, err := d.deliver(ctx)
		res.Delivered += delivered
		res.Retrying += retrying
		res.Failed += failed
		if err != nil {
			errs = append(errs, err)
			break
		}
		if claimed < d.cfg.Batch {
			break
		}
	}
	return res, errors.Join(errs...)
}

// Sweep runs the watcher now, whoever holds the lease; for the CLI and
// tests.
func (d *Dispatcher) Sweep(ctx context.Context) ([]rampart.OutboxEvent, error) {
	if d.cfg.Watcher == nil {
		return nil, nil
	}
	return d.cfg.Watcher.Sweep(ctx, d.cfg.Clock.Now())
}

// Route routes every unrouted event to its receivers.
func (d *Dispatcher) Route(ctx context.Context) (int, error) {
	n := 0
	for {
		evs, err := d.cfg.Store.UnroutedEvents(ctx, 100)
		if err != nil || len(evs) == 0 {
			return n, err
		}
		now := d.cfg.Clock.Now()
		for i := range evs {
			if err := d.cfg.Store.RouteEvent(ctx, evs[i].ID, d.cfg.Notify.ReceiversFor(&evs[i]), now); err != nil {
				return n, err
			}
			n++
		}
	}
}

// deliver claims a batch and sends it, one delivery at a time and each
// recorded before the next is sent: a process that dies has at most one
// request in flight whose answer it did not record, and it is the only
// one another process may send again.
func (d *Dispatcher) deliver(ctx context.Context) (delivered, retrying, failed, claimed int, err error) {
	ds, err := d.cfg.Store.ClaimDeliveries(ctx, d.cfg.Holder, d.cfg.Clock.Now(), d.cfg.ClaimTTL, d.cfg.Batch)
	if err != nil || len(ds) == 0 {
		return 0, 0, 0, 0, err
	}
	var errs []error
	down := map[string]time.Time{} // receivers that failed in this batch, and when to retry them
	start := d.cfg.Clock.Now()
	for i := range ds {
		if ctx.Err() != nil {
			break
		}
		dl := &ds[i]
		if retryAt, ok := down[dl.Receiver]; ok {
			// Not attempted: its receiver just failed. Waiting out a
			// timeout for each would let the batch outlive its claims.
			now := d.cfg.Clock.Now()
			errs = append(errs, d.cfg.Store.DeliveryFailed(context.WithoutCancel(ctx), dl.ID, d.cfg.Holder, now, retryAt,
				"not attempted: the receiver failed earlier in the same pass"))
			retrying++
			continue
		}
		if d.cfg.Clock.Now().Sub(start) > d.cfg.ClaimTTL/2 {
			break // the rest lapse unsent, for whoever claims them next
		}
		outcome, retryAt, err := d.send(ctx, dl)
		if outcome == rampart.DeliveryPending {
			down[dl.Receiver] = retryAt
		}
		switch outcome {
		case rampart.DeliveryDelivered:
			delivered++
		case rampart.DeliveryFailed:
			failed++
		case rampart.DeliveryPending:
			retrying++
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return delivered, retrying, failed, len(ds), errors.Join(errs...)
}

// send makes one attempt and records it. A cancelled context records
// nothing: the claim is released when the dispatcher stops, and the
// delivery is attempted again by whoever claims it next.
func (d *Dispatcher) send(ctx context.Context, dl *rampart.Delivery) (rampart.DeliveryState, time.Time, error) {
	s := d.cfg.Senders[dl.Receiver]
	var err error
	if s == nil {
		err = &SendError{Receiver: dl.Receiver, Permanent: true, Err: errors.New("no such receiver in the register")}
	} else {
		err = s.Send(ctx, &dl.Event)
	}
	if ctx.Err() != nil {
		return "", time.Time{}, nil
	}
	now := d.cfg.Clock.Now()
	sctx := context.WithoutCancel(ctx)
	if err == nil {
		d.cfg.Logger.Info("notification delivered", "receiver", dl.Receiver, "event", dl.Event.Key, "attempts", dl.Attempts+1)
		return rampart.DeliveryDelivered, time.Time{}, d.cfg.Store.DeliverySucceeded(sctx, dl.ID, d.cfg.Holder, now)
	}
	retryAt := now.Add(d.backoff(dl.Attempts+1, err))
	var se *SendError
	permanent := errors.As(err, &se) && se.Permanent
	if permanent || retryAt.Sub(dl.CreatedAt) > d.cfg.GiveUpAfter {
		d.cfg.Logger.Error("notification given up", "receiver", dl.Receiver, "event", dl.Event.Key, "attempts", dl.Attempts+1, "err", err)
		return rampart.DeliveryFailed, time.Time{}, d.cfg.Store.DeliveryFailed(sctx, dl.ID, d.cfg.Holder, now, time.Time{}, err.Error())
	}
	d.cfg.Logger.Warn("notification failed; will retry", "receiver", dl.Receiver, "event", dl.Event.Key,
		"attempts", dl.Attempts+1, "retry_at", retryAt, "err", err)
	return rampart.DeliveryPending, retryAt, d.cfg.Store.DeliveryFailed(sctx, dl.ID, d.cfg.Holder, now, retryAt, err.Error())
}

// backoff is the wait after the nth failed attempt: MinBackoff doubled
// each time, at most MaxBackoff, or longer when the receiver asked
// (Retry-After, up to an hour).
func (d *Dispatcher) backoff(n int, err error) time.Duration {
	b := d.cfg.MinBackoff
	for i := 1; i < n && b < d.cfg.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.cfg.MaxBackoff)
	var se *SendError
	if errors.As(err, &se) && se.RetryAfter > b {
		b = min(se.RetryAfter, time.Hour)
	}
	return b
}

// resend posts the firing alerts again to each Alertmanager receiver they
// route to.
func (d *Dispatcher) resend(ctx context.Context) (int, error) {
	var ams []string
	for _, r := range d.cfg.Notify.Receivers {
		if r.Type == rampart.ReceiverAlertmanager {
			ams = append(ams, r.Name)
		}
	}
	if len(ams) == 0 {
		return 0, nil
	}
	firing, err := d.cfg.Store.FiringAlerts(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, name := range ams {
		am, ok := d.cfg.Senders[name].(*Alertmanager)
		if !ok {
			continue
		}
		var mine []rampart.OutboxEvent
		for i := range firing {
			if slices.Contains(d.cfg.Notify.ReceiversFor(&firing[i]), name) {
				mine = append(mine, firing[i])
			}
		}
		if err := am.Resend(ctx, mine); err != nil {
			errs = append(errs, err)
			continue
		}
		n += len(mine)
	}
	return n, errors.Join(errs...)
}
