#!/usr/bin/env bash
# The Quick start's main job, after setup: bootstrap the local `busybox` base
# image, build examples/hello for linux/amd64 and linux/arm64 in one build, then
# run each platform's image with podman and show where it ran. Uses
# $TSBUILD_ROOT when set, else the default state dir. Running it twice shows
# the second build fully cached.
set -euo pipefail
cd "$(dirname "$0")/.."
tsbuild() { node bin/tsbuild.js "$@"; }
progress=${PROGRESS:-plain}

echo "==> bootstrapping the busybox base image (linux/amd64, linux/arm64)"
PROGRESS=$progress bash scripts/bootstrap-busybox.sh

echo "==> tsbuild -t hello --platform linux/amd64,linux/arm64 examples/hello"
tsbuild build --progress "$progress" -t hello --platform linux/amd64,linux/arm64 examples/hello
tsbuild images

work=$(mktemp -d /tmp/tsbqs-XXXXXX) # podman wants a short runroot path
cleanup() {
  podman_ rmi --all --force >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
# podman on Debian 12 as root without systemd: private vfs storage, cgroupfs,
# file events, runc (crun fails with hybrid cgroups), and low explicit ulimits.
podman_() {
  podman --root "$work/root" --runroot "$work/run" --storage-driver vfs \
    --cgroup-manager=cgroupfs --events-backend=file --runtime runc "$@"
}

for platform in linux/amd64 linux/arm64; do
  arch=${platform#linux/}
  echo "==> running hello for $platform"
  tsbuild save --platform "$platform" -o "$work/hello-$arch.tar" hello
  podman_ load -q -i "$work/hello-$arch.tar" >/dev/null
  podman_ run --rm --arch "$arch" --pull never --network=none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    hello sh -c 'cat /message.txt; echo "running now on $(uname -m)"'
  podman_ rmi --force hello >/dev/null
done
