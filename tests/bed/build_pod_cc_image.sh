#!/usr/bin/env bash
# The pod image with g++ and Python's headers (tests/bed/vllm-pod-cc/Dockerfile), for the server across
# nodes: vLLM's CPU build needs torch.compile there (about 15 s when Debian's mirror is near).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

build_on_base "$0" "${INFEROPS_POD_CC_IMAGE:-inferops/vllm-pod-cc:0.32.0}" "${INFEROPS_POD_IMAGE:-inferops/vllm-pod:0.32.0}" "$here/vllm-pod-cc"
