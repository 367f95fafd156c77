// Command dlcompat checks deep-learning frameworks for numerical
// compatibility and speed on every device; see 'dlcompat --help'.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/dlcompat/dlcompat/core/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
