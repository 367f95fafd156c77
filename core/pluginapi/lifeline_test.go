package pluginapi

import (
	"context"
	"testing"

	"google.golang.org/grpc/stats"
)

// The plugin exits when its host's last connection ends, and not before.
func TestLifelineExitsWhenTheLastConnectionEnds(t *testing.T) {
	exited := -1
	l := &lifeline{exit: func(code int) { exited = code }}
	ctx := context.Background()
	l.HandleConn(ctx, &stats.ConnBegin{})
	l.HandleConn(ctx, &stats.ConnBegin{})
	l.HandleConn(ctx, &stats.ConnEnd{})
	if exited != -1 {
		t.Fatal("exited while a connection remained")
	}
	l.HandleConn(ctx, &stats.ConnEnd{})
	if exited != 0 {
		t.Fatalf("did not exit (code %d) when the last connection ended", exited)
	}
}
