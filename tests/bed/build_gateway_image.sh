#!/usr/bin/env bash
# The gateway image: tests/bed/gateway/Dockerfile (the node image plus Debian's haproxy).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

image=${INFEROPS_GATEWAY_IMAGE:-inferops/gateway:bookworm}
base=${INFEROPS_NODE_IMAGE:-inferops/node:bookworm}
base_id=$(docker image inspect --format '{{.Id}}' "$base")
hash=$(inputs_hash "$0" "$here"/gateway/* <<<"$base_id")
if image_is_current "$image" "$hash"; then
  log "$image is current ($hash)"; exit 0
fi
# Host networking: apt inside the build reaches Debian's mirror the way this machine does.
docker build -q --network host --label "inferops.bed.hash=$hash" -t "$image" - < "$here/gateway/Dockerfile" >/dev/null
log "built $image"
