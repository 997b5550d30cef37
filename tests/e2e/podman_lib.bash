# Shared by the e2e scripts that run podman (sourced, not run).
# podman_private DIR: a podman of the test's own: its storage under DIR
# (nothing of the user's is touched), and the settings this kind of host
# needs written in a containers.conf of its own, never in lab: runc (crun
# refuses hybrid cgroups), the caller's own ulimits as defaults (a sandbox
# may refuse podman's 1048576 open files), no network (the tests need none).
# Exported, so a Slurm job started from the test sees the same podman.
podman_private() {
  export CONTAINERS_CONF=$1/containers.conf CONTAINERS_STORAGE_CONF=$1/storage.conf
  # (podman lowers its own process limit to 32768 at start: no more than that.)
  local nproc_hard; nproc_hard=$(ulimit -Hu)
  { [ "$nproc_hard" = unlimited ] || [ "$nproc_hard" -gt 32768 ]; } && nproc_hard=32768
  cat >"$CONTAINERS_CONF" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Sn):$(ulimit -Hn)", "nproc=$nproc_hard:$nproc_hard"]
netns = "none"
[engine]
runtime = "runc"
EOF
  cat >"$CONTAINERS_STORAGE_CONF" <<EOF
[storage]
driver = "vfs"
graphroot = "$1/podman/root"
runroot = "$1/podman/run"
EOF
}
