// Package docker is the docker executor: each plugin runs in a container of
// its framework image, started with ory/dockertest as a go-plugin
// runner.Runner, one container per (image, device).
//
// What a container gets, and nothing more:
//   - the static plugin binary, bind-mounted read-only at PluginDir, as its
//     entrypoint; the reference tensors read-only at ReferenceMount;
//   - go-plugin's unix-socket directory at SocketMount (the runner
//     translates the path both ways), shared through the plugin's group
//     with the sticky bit, so the plugin can make its socket but not
//     remove or replace the host's; the host dials only a real socket of
//     the plugin's uid there;
//   - a bounded tmpfs on /tmp (nosuid, nodev; also $HOME); the root
//     filesystem is read-only;
//   - no network, no capabilities, no new privileges, an unprivileged uid
//     (65534 by default, never 0), and a pids and a memory limit (Limits,
//     with DefaultLimits; Executor.Limits reports those in effect);
//   - only the environment go-plugin and the plugin need: the host's is
//     never passed (go-plugin's SkipHostEnv);
//   - on a GPU device, a device request for exactly that GPU, by UUID
//     (driver nvidia, capabilities [[gpu]]). dockertest's HostConfig has no
//     DeviceRequests field, so the container is created with one raw Engine
//     API call that reuses dockertest's types and HTTP client (create.go).
//
// Nothing outlives its run. Containers carry the run's id as a label
// (LabelRun) and are auto-removed when they stop; Close removes whatever is
// left. A host that is SIGKILLed cannot close anything, so two safety nets
// do it instead: the plugin exits as soon as its host's connection ends
// (core/pluginapi's lifeline), which stops and removes its container; and a
// watchdog process, started by Open, waits for the host's end of a pipe to
// close and then removes the containers and the socket directory of its
// host's session of the run (janitor.go); each session (a --resume is
// another) has its own directory and container names, so a resume started
// at once is left alone. A run that starts also removes the leftovers of
// earlier runs whose owner process is gone.
//
// Images are never pulled unless the pull policy says so (PullIfMissing);
// a missing image under PullNever is an error that names the image and how
// to build it. The results record each image with its digest
// (PrepareImage).
//
// The engine must run on this host: the plugin binary, the reference
// tensors and the socket directory are bind-mounted by their host paths,
// and the host connects to the plugin's unix socket through the shared
// directory. Rootless Docker is not supported: the container's uid maps to
// another host uid, outside the socket directory's group.
//
// CheckEnvironment tells an engine that stopped answering (ErrEngineGone)
// from a plugin that died, so that the runner can leave the cells for
// --resume rather than record crashes. docs/security.md is the threat
// model.
//
// It does not choose images or devices (see core/config and core/runner),
// and it does not talk to the plugin once started (core/pluginhost).
package docker
