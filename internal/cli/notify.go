package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rampart-dev/rampart"
	"github.com/rampart-dev/rampart/notify"
)

func newNotifyCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Notifications: test a receiver, see what is waiting, deliver now",
		Long: `Rampart notifies Alertmanager, PagerDuty, Slack, Microsoft Teams and signed
webhooks (the register's notify section) of new critical and high findings,
controls turning failing, regressions, reviews due and overdue, exceptions
expiring, certificates near expiry and integrations in error. Events wait in
the store's outbox until each receiver has taken them; "rampart serve"
delivers them as they come, retrying with backoff. See
docs/notifications.md.`,
	}
	cmd.AddCommand(newNotifyTestCmd(e), newNotifyStatusCmd(e), newNotifyFlushCmd(e))
	return cmd
}

func newNotifyTestCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "test RECEIVER",
		Short: "Send a test notification to one receiver, now",
		Long: `Test sends one notification straight to the receiver (not through the
outbox) and says whether it took it: a way to check a webhook URL, a routing
key or a signature secret. Its credentials are read from the references the
register names. The test is written to the audit log.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := e.loadApp(e.registerPath(""))
			if err != nil {
				return err
			}
			r := a.cfg.Notify.Receiver(args[0])
			if r == nil {
				var names []string
				for _, r := range a.cfg.Notify.Receivers {
					names = append(names, r.Name)
				}
				if len(names) == 0 {
					return usageErrorf("no receiver %q: the register's notify section names none", args[0])
				}
				return usageErrorf("no receiver %q (the register names %v)", args[0], names)
			}
			one := a.cfg.Notify
			one.Receivers = []rampart.Receiver{*r}
			senders, err := notify.NewSenders(one, rampart.Env{Getenv: e.getenv, ReadFile: os.ReadFile}, &http.Client{Timeout: notify.DefaultTimeout}, e.now)
			if err != nil {
				return usageErrorf("%v", err)
			}
			now := e.now()
			ev := rampart.OutboxEvent{
				Key: fmt.Sprintf("test:%s:%d", r.Name, now.UnixNano()), Kind: rampart.EventTest, Action: rampart.ActionNotice,
				Severity: rampart.SeverityInfo, Title: "Rampart test notification",
				Summary: fmt.Sprintf("Sent by %s with rampart notify test %s. If you read this, %s receives Rampart's notifications.", cliActor(e), r.Name, r.Name),
				Labels:  map[string]string{"receiver": r.Name}, StartsAt: now, CreatedAt: now,
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), notify.DefaultTimeout+5*time.Second)
			defer cancel()
			sendErr := senders[r.Name].Send(ctx, &ev)
			db, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			outcome := "delivered"
			if sendErr != nil {
				outcome = sendErr.Error()
			}
			if _, err := db.Audit(cmd.Context(), rampart.AuditEntry{
				At: now, Actor: cliActor(e), Action: "notify.test", Object: "receiver:" + r.Name, Source: "cli",
				After: mustJSONBytes(map[string]string{"type": string(r.Type), "outcome": outcome}),
			}); err != nil {
				return err
			}
			if sendErr != nil {
				return fmt.Errorf("test notification to %s: %w", r.Name, sendErr)
			}
			fmt.Fprintf(e.stdout, "sent a test notification to %s (%s)\n", r.Name, r.Type)
			return nil
		},
	}
}

func newNotifyStatusCmd(e *env) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Deliveries waiting or given up, per receiver, and the alerts firing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return usageErrorf("unknown --output %q (want table or json)", output)
			}
			_, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			ds, err := db.Deliveries(cmd.Context(), rampart.DeliveryFilter{State: []rampart.DeliveryState{rampart.DeliveryPending, rampart.DeliveryFailed}})
			if err != nil {
				return err
			}
			firing, err := db.FiringAlerts(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(e.stdout, struct {
					Deliveries []rampart.Delivery    `json:"deliveries"`
					Firing     []rampart.OutboxEvent `json:"firing"`
				}{ds, firing})
			}
			if len(ds) > 0 {
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "RECEIVER\tSTATE\tATTEMPTS\tNEXT ATTEMPT\tEVENT\tLAST ERROR")
				for _, d := range ds {
					next := ""
					if d.State == rampart.DeliveryPending {
						next = d.NextAttemptAt.Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", d.Receiver, d.State, d.Attempts, next, d.Event.Key, d.LastError)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			sort.Slice(firing, func(i, j int) bool { return firing[i].AlertKey < firing[j].AlertKey })
			fmt.Fprintf(e.stdout, "%d deliveries waiting or given up; %d alerts firing\n", len(ds), len(firing))
			for _, f := range firing {
				fmt.Fprintf(e.stdout, "  %s %s: %s\n", f.Severity, f.AlertKey, f.Title)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func newNotifyFlushCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "flush",
		Short: "Look for new events and deliver what is waiting, once",
		Long: `Flush does one pass of what "rampart serve" does continuously: it compares the
store with the alerts firing and enqueues what changed, routes new events to
their receivers, and delivers what is due, each delivery once. Run it after
"rampart scan" from cron when serve is not used. A receiver that fails is
retried at a later flush, after its backoff.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, db, err := e.openApp(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			d, err := a.dispatcher(e, db, fmt.Sprintf("%s/%d", cliActor(e), os.Getpid()))
			if err != nil {
				return usageErrorf("%v", err)
			}
			evs, err := d.Sweep(cmd.Context())
			if err != nil {
				return err
			}
			res, err := d.Pass(cmd.Context())
			fmt.Fprintf(e.stdout, "%d events enqueued, %d routed, %d delivered, %d to retry, %d given up\n",
				len(evs)+res.Enqueued, res.Routed, res.Delivered, res.Retrying, res.Failed)
			if rerr := db.ReleaseLease(context.WithoutCancel(cmd.Context()), notify.LeaseName, d.Holder()); rerr != nil {
				e.log.Warn("release notify lease", "err", rerr)
			}
			return err
		},
	}
}

func mustJSONBytes(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return b
}
