#!/usr/bin/env bash
# Podman for the vllm_server_podman Molecule scenario: Debian's podman, and the real vLLM CPU
# image (built for Docker by build_vllm_image.sh) copied into podman's store as
# localhost/inferops/vllm-cpu:0.32.0 (no registry: docker save | podman load). Reloaded only
# when the Docker image changed (its inferops.bed.hash label). Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

image=${INFEROPS_VLLM_IMAGE:-inferops/vllm-cpu:0.32.0}
if ! command -v podman >/dev/null 2>&1; then
  log "installing podman from Debian's archive"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq podman >/dev/null
fi
want=$(docker image inspect --format '{{ index .Config.Labels "inferops.bed.hash" }}' "$image")
got=$(podman image inspect --format '{{ index .Labels "inferops.bed.hash" }}' "localhost/$image" 2>/dev/null || true)
if [ "$got" = "$want" ]; then
  log "podman has localhost/$image ($want)"; exit 0
fi
log "copying $image into podman's store (a few minutes)"
docker save "$image" | podman load -q >/dev/null
podman image prune -f >/dev/null
log "podman has localhost/$image ($want)"
