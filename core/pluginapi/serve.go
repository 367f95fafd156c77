package pluginapi

import (
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// MaxMessageBytes bounds one gRPC message: weights, activations and
// gradients travel inline, and go-plugin's default 4 MiB is too small for
// the CNN's per-layer activations at larger batches.
const MaxMessageBytes = 512 << 20

// Serve runs impl as a plugin process. It only returns when the host is
// done with it. Call it from the plugin's main.
func Serve(impl Framework) {
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: PluginSets(impl),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			opts = append(opts, grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(MaxMessageBytes))
			return grpc.NewServer(opts...)
		},
	})
}

// ClientDialOptions are the gRPC options a host uses to talk to plugins.
func ClientDialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithDefaultCallOptions(
		grpc.MaxCallRecvMsgSize(MaxMessageBytes), grpc.MaxCallSendMsgSize(MaxMessageBytes))}
}
