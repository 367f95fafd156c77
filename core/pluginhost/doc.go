// Package pluginhost finds plugin binaries, starts them through an
// executor, negotiates the protocol version with go-plugin, and hands out
// a described, ready Framework. It also keeps the tail of each plugin's
// stderr, which a crashed cell reports. It does not plan or judge runs.
package pluginhost
