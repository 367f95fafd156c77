package docker_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/dlcompat/dlcompat/core/exec"
	"github.com/dlcompat/dlcompat/core/exec/docker"
	"github.com/dlcompat/dlcompat/core/pluginhost"
)

// BenchmarkStartToReady times the gorgonia plugin from start to ready
// (process or container started, go-plugin handshake, Describe answered),
// as a local subprocess and in its container. Stopping the plugin is not
// timed. Besides the mean (ns/op) it reports the median of the iterations
// (ms-median); scripts/bench-docker.sh prints both executors side by side.
func BenchmarkStartToReady(b *testing.B) {
	pool := engine(b)
	needImage(b, pool, gorgoniaImage)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		image string
		ex    func(b *testing.B) exec.Executor
	}{
		{name: "local", ex: func(*testing.B) exec.Executor { return exec.Local{} }},
		{name: "docker", image: gorgoniaImage, ex: func(b *testing.B) exec.Executor {
			ex := docker.New(docker.Options{})
			if err := ex.Open(ctx, testRunID(b)); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { ex.Close() })
			return ex
		}},
	} {
		b.Run("executor="+tc.name, func(b *testing.B) {
			ex := tc.ex(b)
			spec := gorgoniaSpec(b, tc.image)
			samples := make([]float64, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				inst, err := pluginhost.Start(ctx, ex, spec)
				if err != nil {
					b.Fatal(err)
				}
				samples = append(samples, float64(time.Since(start))/1e6)
				b.StopTimer()
				inst.Close()
				b.StartTimer()
			}
			sort.Float64s(samples)
			med := samples[len(samples)/2]
			if len(samples)%2 == 0 {
				med = (samples[len(samples)/2-1] + med) / 2
			}
			b.ReportMetric(med, "ms-median")
		})
	}
}
