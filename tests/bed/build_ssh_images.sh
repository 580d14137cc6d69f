#!/usr/bin/env bash
# The fleet journey's node images (tests/journey): the SSH layer (tests/bed/ssh-node) on three
# bed images. The provider doubles start them: inferops/droplet (the node image: a host with a
# container engine, the host's socket shared), inferops/pod (the pod image: vLLM in /opt/vllm,
# supervisord, no systemd); the journey starts inferops/gateway-host (HAProxy) itself.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

build_ssh_image() {
  local image=$1 base=$2 base_id hash
  base_id=$(docker image inspect --format '{{.Id}}' "$base")
  hash=$(inputs_hash "$0" "$here"/ssh-node/* <<<"$base_id")
  if image_is_current "$image" "$hash"; then
    log "$image is current ($hash)"; return 0
  fi
  docker build -q --network host --build-arg BASE="$base" --label "inferops.bed.hash=$hash" -t "$image" "$here/ssh-node" >/dev/null
  log "built $image"
}

build_ssh_image inferops/droplet:bookworm "${INFEROPS_NODE_IMAGE:-inferops/node:bookworm}"
build_ssh_image inferops/pod:0.32.0 "${INFEROPS_POD_IMAGE:-inferops/vllm-pod:0.32.0}"
build_ssh_image inferops/gateway-host:bookworm "${INFEROPS_GATEWAY_IMAGE:-inferops/gateway:bookworm}"
