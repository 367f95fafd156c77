package pluginapi

import (
	"os"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// MaxMessageBytes bounds one gRPC message: weights, activations and
// gradients travel inline, and go-plugin's default 4 MiB is too small for
// the CNN's per-layer activations at larger batches.
const MaxMessageBytes = 512 << 20

// Serve runs impl as a plugin process. It only returns when the host is
// done with it, and the process exits as soon as the host's connection
// ends, so a plugin whose host was killed (in a container too) does not
// linger. Call it from the plugin's main. Started with ManifestArg, the
// process prints m instead and exits.
func Serve(m Manifest, impl Framework) {
	ServeManifest(m)
	life := &lifeline{exit: os.Exit}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: PluginSets(impl),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes), grpc.StatsHandler(life))
			return grpc.NewServer(opts...)
		},
	})
}

// ClientDialOptions are the gRPC options a host uses to talk to plugins.
func ClientDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes))}
}
