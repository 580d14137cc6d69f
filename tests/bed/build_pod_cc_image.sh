#!/usr/bin/env bash
# The images of the servers across nodes: the vLLM CPU image with g++ and Python's headers
# (tests/bed/vllm-cpu-cc: the docker runtime's server image; vLLM's CPU build needs torch.compile
# there, about 15 s to build when Debian's mirror is near), and the pod image on it
# (tests/bed/vllm-pod-cc: the process runtime's nodes).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/bed/lib.sh
. "$here/lib.sh"

build_on_base "$0" "${INFEROPS_VLLM_CC_IMAGE:-inferops/vllm-cpu-cc:0.32.0}" "${INFEROPS_VLLM_IMAGE:-inferops/vllm-cpu:0.32.0}" "$here/vllm-cpu-cc"
build_on_base "$0" "${INFEROPS_POD_CC_IMAGE:-inferops/vllm-pod-cc:0.32.0}" "${INFEROPS_VLLM_CC_IMAGE:-inferops/vllm-cpu-cc:0.32.0}" "$here/vllm-pod-cc"
