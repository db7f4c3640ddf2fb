#!/usr/bin/env bash
# Build the two-platform `busybox` base image offline, with tsbuild itself:
# Debian's busybox-static packages for amd64 and arm64 become rootfs-amd64/ and
# rootfs-arm64/, and `FROM scratch` + `COPY rootfs-${TARGETARCH}/ /` turns them
# into one image index stored locally as `busybox` (in $TSBUILD_ROOT, or the
# default state dir). The rootfs dirs are kept under .cache/ so a second run is
# fully cached.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
ctx=${BUSYBOX_CONTEXT:-$repo/.cache/busybox-context}
debs=$repo/.cache/debs
mkdir -p "$ctx" "$debs"

find_deb() { ls "$1"/busybox-static_*_"$2".deb 2>/dev/null | head -n1 || true; }

make_rootfs() {
  local arch=$1 root=$ctx/rootfs-$1
  [ -x "$root/bin/busybox" ] && return 0
  local deb
  deb=$(find_deb "$debs" "$arch")
  [ -n "$deb" ] || deb=$(find_deb /tmp "$arch")
  [ -n "$deb" ] || deb=$(find_deb "$repo/.cache/fixtures" "$arch")
  if [ -z "$deb" ]; then
    (cd "$debs" && apt-get download -qq "busybox-static:$arch")
    deb=$(find_deb "$debs" "$arch")
  fi
  [ -n "$deb" ] || { echo "bootstrap-busybox: no busybox-static .deb for $arch (try: dpkg --add-architecture arm64 && apt-get update)" >&2; exit 1; }

  local staging
  staging=$(mktemp -d "$ctx/.rootfs-$arch-XXXXXX")
  dpkg-deb -x "$deb" "$staging/deb"
  local r=$staging/rootfs
  mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,proc,sys,dev,root}
  chmod 1777 "$r/tmp"
  mv "$staging/deb/bin/busybox" "$r/bin/busybox"
  # The applet list is the same for both architectures of one package version, so
  # the host's busybox answers for arm64 too when qemu is not registered yet.
  local lister=("$r/bin/busybox")
  [ "$arch" = "$(dpkg --print-architecture)" ] || lister=(/bin/busybox)
  "${lister[@]}" --list-full | while read -r applet; do
    [ -n "$applet" ] && [ "$applet" != bin/busybox ] && [ ! -e "$r/$applet" ] || continue
    mkdir -p "$r/$(dirname "$applet")"
    ln -s /bin/busybox "$r/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$r/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' > "$r/etc/group"
  # Fixed times so the image digest does not depend on when the script ran.
  find "$r" -exec touch -h -d @0 {} +
  mv "$r" "$root"
  rm -rf "$staging"
}

[ -x /bin/busybox ] || { echo "bootstrap-busybox: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 1; }
for arch in amd64 arm64; do make_rootfs "$arch"; done

cat > "$ctx/Dockerfile" <<'EOF'
FROM scratch
ARG TARGETARCH
COPY rootfs-${TARGETARCH}/ /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["sh"]
EOF

# A fixed SOURCE_DATE_EPOCH keeps the digest stable, so images built FROM busybox stay cached.
node bin/tsbuild.js build --progress "${PROGRESS:-plain}" --build-arg SOURCE_DATE_EPOCH=0 -t busybox --platform linux/amd64,linux/arm64 "$ctx"
