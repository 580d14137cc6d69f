#!/usr/bin/env bash
# Build the `node` test image (a Debian bookworm host Ansible can manage) without any
# registry: debootstrap a rootfs, add the host's CA bundle, `docker import` it.
# Skipped when an image with the same build-input hash exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

image=${INFEROPS_NODE_IMAGE:-inferops/node:bookworm}
pkgs=python3,python3-apt,python3-requests,python3-venv,sudo,procps,iproute2,curl,ca-certificates,supervisor,less,iputils-ping
hash=$(inputs_hash "$0" <<<"$pkgs")
if image_is_current "$image" "$hash"; then
  log "$image is current ($hash)"; exit 0
fi

work=$(mktemp -d /var/tmp/inferops-node.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
log "debootstrap bookworm into $work (a few minutes on a cold machine)"
debootstrap --variant=minbase --include="$pkgs" bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
  || { tail -n 40 "$work/debootstrap.log" >&2; exit 1; }
# pip and curl inside test hosts must trust the same interception CA as this machine.
cp /usr/local/share/ca-certificates/*.crt "$work/rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
chroot "$work/rootfs" update-ca-certificates >/dev/null 2>&1 || true
cp /etc/apt/sources.list.d/debian.sources "$work/rootfs/etc/apt/sources.list.d/" 2>/dev/null || true
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
log "docker import -> $image"
tar -C "$work/rootfs" -c . | docker import \
  --change 'CMD ["sleep", "infinity"]' \
  --change "LABEL inferops.bed.hash=$hash" \
  --change 'ENV LANG=C.UTF-8' \
  - "$image" >/dev/null
log "built $image"
