// Package exec says how a plugin process is started. An Executor sets the
// go-plugin ClientConfig: a local subprocess (this package's Local) or,
// in a sub-package, a container. It does not talk to the plugin; see
// core/pluginhost for that.
//
// A local plugin runs in a process group of its own, through this
// package's go-plugin runner: when the plugin exits or is killed, the
// whole group is SIGKILLed before the plugin is reaped, its stdout and
// stderr are read for at most ExitDrain more, and its socket directory is
// removed. So neither a plugin's children nor a failed handshake can hold
// the host. Not covered: a descendant that leaves the process group
// (setsid) survives the plugin (it only loses the pipes), and when the
// host itself is SIGKILLed the kernel kills the plugin (Pdeathsig) but
// not its descendants; a cgroup per plugin would cover both. The socket
// directories of a killed host are removed by the next host that starts
// a local plugin.
package exec
