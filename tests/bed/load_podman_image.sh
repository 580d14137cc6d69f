#!/usr/bin/env bash
# Podman for the vllm_server_podman Molecule scenario: Debian's podman, and the real vLLM CPU
# images (built for Docker by build_vllm_image.sh and build_pod_cc_image.sh) copied into podman's
# store as localhost/inferops/vllm-cpu:0.32.0 and localhost/inferops/vllm-cpu-cc:0.32.0 (no
# registry: docker save | podman load; the layers they share are stored once). Reloaded only
# when the Docker image changed (its inferops.bed.hash label). Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

# The vLLM CPU image, and the one with g++ (the server across nodes: tests/bed/vllm-cpu-cc), where built:
# those podman lacks (or holds at another hash) copied in one `docker save`, so that the layers they
# share are read and written once.
stale() {
  local image=$1 want got
  want=$(docker image inspect --format '{{ index .Config.Labels "inferops.bed.hash" }}' "$image") && [ -n "$want" ] || {
    log "Docker has no $image (built by tests/bed/build_vllm_image.sh, build_pod_cc_image.sh)"; exit 1; }
  got=$(podman image inspect --format '{{ index .Labels "inferops.bed.hash" }}' "localhost/$image" 2>/dev/null || true)
  [ "$got" != "$want" ]
}

if ! command -v podman >/dev/null 2>&1; then
  log "installing podman from Debian's archive"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq podman >/dev/null
fi
images=()
for image in "${INFEROPS_VLLM_IMAGE:-inferops/vllm-cpu:0.32.0}" "${INFEROPS_VLLM_CC_IMAGE:-inferops/vllm-cpu-cc:0.32.0}"; do
  if stale "$image"; then images+=("$image"); else log "podman has localhost/$image"; fi
done
if [ ${#images[@]} -gt 0 ]; then
  log "copying ${images[*]} into podman's store (a few minutes)"
  docker save "${images[@]}" | podman load -q >/dev/null
  podman image prune -f >/dev/null
  for image in "${images[@]}"; do
    if stale "$image"; then log "podman's localhost/$image is not the Docker image after the copy"; exit 1; fi
    log "podman has localhost/$image"
  done
fi
