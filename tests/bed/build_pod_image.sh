#!/usr/bin/env bash
# The pod image: tests/bed/vllm-pod/Dockerfile on top of the vLLM CPU image (metadata only, seconds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

image=${INFEROPS_POD_IMAGE:-inferops/vllm-pod:0.32.0}
base=${INFEROPS_VLLM_IMAGE:-inferops/vllm-cpu:0.32.0}
base_id=$(docker image inspect --format '{{.Id}}' "$base")
hash=$(inputs_hash "$0" "$here"/vllm-pod/* <<<"$base_id")
if image_is_current "$image" "$hash"; then
  log "$image is current ($hash)"; exit 0
fi
docker build -q --label "inferops.bed.hash=$hash" -t "$image" - < "$here/vllm-pod/Dockerfile" >/dev/null
log "built $image"
