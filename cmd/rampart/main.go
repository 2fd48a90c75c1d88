// Command rampart runs a SOC 2 program over a platform team's own estate.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/rampart-dev/rampart/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
