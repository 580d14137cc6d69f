#!/usr/bin/env bash
# Packs the node-side GPU TEST DOUBLES (tests/bed/gpu_doubles.yml says what each stands in for)
# into one archive laid out as on the node, so that the task file installs them in one transfer
# instead of one per file (about a second each over the docker connection). Prints its path.
#   tests/bed/pack_gpu_doubles.sh              # all of them
#   tests/bed/pack_gpu_doubles.sh nvidia-smi   # the nvidia-smi double and its captures only
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
install -D -m 0755 "$root/tests/doubles/nvidia_smi_double.py" "$tree/usr/local/bin/nvidia-smi"
mkdir -p "$tree/usr/local/share/nvidia-smi-double" "$tree/etc"
install -m 0644 "$root"/tests/unit/fixtures/gpu/h100-80gb-x1/* "$tree/usr/local/share/nvidia-smi-double/"
if [ "${1:-all}" != nvidia-smi ]; then
  install -D -m 0755 "$root/tests/doubles/kernel_log_double.py" "$tree/usr/local/bin/journalctl"
  install -D -m 0755 "$root/tests/doubles/kernel_log_double.py" "$tree/usr/local/bin/dmesg"
  install -D -m 0644 "$root/tests/doubles/cdi/nvidia.yaml" "$tree/etc/cdi/nvidia.yaml"
  install -D -m 0644 "$root/tests/unit/fixtures/kernel_log/clean.log" "$tree/usr/local/share/kernel-log-double/kern.log"
fi
out=$(mktemp /tmp/inferops-gpu-doubles.XXXXXX.tar)
# Files only: the folders they land in keep their modes on the node.
# Fixed owner and times: the same doubles make the same archive, so that a second install changes nothing.
(cd "$tree" && find usr etc -type f | sort | tar --owner=0 --group=0 --mtime=2026-01-01T00:00:00Z --no-recursion -cf "$out" -T -)
echo "$out"
