package pluginapi

import (
	"context"
	"fmt"
	"os"
	"sync"

	"google.golang.org/grpc/stats"
)

// lifeline ends the plugin process when its host's last connection ends.
//
// go-plugin's server otherwise outlives a host that died without saying
// goodbye (SIGKILL, OOM): a local subprocess is covered by the kernel
// (Pdeathsig), but a plugin in a container is not a child of the host, and
// would keep its container running. The host's one gRPC connection closes
// when the host process dies however it dies, so its end is the signal.
// A graceful shutdown closes the connection too, after the plugin has been
// told to stop, so exiting then changes nothing.
type lifeline struct {
	mu     sync.Mutex
	active int
	// exit is os.Exit outside tests.
	exit func(code int)
}

var _ stats.Handler = (*lifeline)(nil)

func (l *lifeline) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context   { return ctx }
func (l *lifeline) HandleRPC(context.Context, stats.RPCStats)                         {}
func (l *lifeline) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context { return ctx }

func (l *lifeline) HandleConn(_ context.Context, s stats.ConnStats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s.(type) {
	case *stats.ConnBegin:
		l.active++
	case *stats.ConnEnd:
		l.active--
		if l.active == 0 {
			fmt.Fprintln(os.Stderr, "dlcompat plugin: the host's connection ended; exiting")
			l.exit(0)
		}
	}
}
