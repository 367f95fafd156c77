// Package exec says how a plugin process is started. An Executor sets the
// go-plugin ClientConfig: a local subprocess (this package's Local) or,
// in a sub-package, a container. It does not talk to the plugin; see
// core/pluginhost for that.
package exec
