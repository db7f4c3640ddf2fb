#!/usr/bin/env bash
# Install everything tsbuild and its tests need on Debian 12 (run as root):
# runc, overlayfs tools, qemu-user-static + binfmt for foreign platforms, the
# loopback registry, skopeo/podman as judges, and the npm dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=0
for bin in runc skopeo podman qemu-aarch64-static docker-registry htpasswd git xz bzip2 zstd gzip setfattr ssh-agent hyperfine; do
  command -v "$bin" >/dev/null 2>&1 || need_apt=1
done
[ -x /bin/busybox ] || need_apt=1
if [ "$need_apt" = 1 ]; then
  if [ "$(id -u)" != 0 ]; then echo "setup: run as root to install system packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  dpkg --add-architecture arm64
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends \
    runc skopeo podman qemu-user-static docker-registry busybox-static apache2-utils \
    git xz-utils bzip2 zstd gzip ca-certificates iproute2 hyperfine attr openssh-client >/dev/null
fi

# binfmt_misc: mount it and register qemu for the foreign platforms we test.
if [ "$(id -u)" = 0 ]; then
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || true
  fi
  for arch in aarch64 arm; do
    if [ -e /proc/sys/fs/binfmt_misc/register ] && [ ! -e "/proc/sys/fs/binfmt_misc/qemu-$arch" ] && [ -f "/usr/lib/binfmt.d/qemu-$arch.conf" ]; then
      cat "/usr/lib/binfmt.d/qemu-$arch.conf" > /proc/sys/fs/binfmt_misc/register || true
    fi
  done
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install` rather than `npm ci`: with this npm, lock files written without
  # registry addresses omit other platforms' optional packages and `npm ci` refuses them.
  npm install --no-audit --no-fund --loglevel=error
fi
npm run --silent build
