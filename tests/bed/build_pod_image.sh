#!/usr/bin/env bash
# The pod image: tests/bed/vllm-pod/Dockerfile on top of the vLLM CPU image (metadata only, seconds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

build_on_base "$0" "${INFEROPS_POD_IMAGE:-inferops/vllm-pod:0.32.0}" "${INFEROPS_VLLM_IMAGE:-inferops/vllm-cpu:0.32.0}" "$here/vllm-pod"
