#!/usr/bin/env bash
# Run the preflight for real on a GPU machine (the device tool's H100/H200), with a local
# connection. ansible-core travels as wheels in .whl/ (see the README's GPU section).
# Writes what it saw under $OUT (or ./device-out): the fleet report, the module's JSON,
# raw nvidia-smi output to compare against, and the log.
set -uo pipefail
out=${OUT:-$PWD/device-out}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PATH=/tmp/site/bin:$PATH
mkdir -p /tmp/ac/ansible_collections/inferops
ln -sfn "$PWD" /tmp/ac/ansible_collections/inferops/gpu_inference
export ANSIBLE_COLLECTIONS_PATH=/tmp/ac ANSIBLE_CONFIG=$PWD/ansible.cfg INFEROPS_REPORT_DIR=$out/reports
{
  echo "== nvidia-smi (raw, for comparison)"; nvidia-smi; nvidia-smi --version; nvidia-smi topo -m
  echo "== ansible"; ansible --version
  echo "== nvidia_smi_info"
  ansible -i inventories/gpu_local/hosts.yml gpu-local -m inferops.gpu_inference.nvidia_smi_info -a 'topology=true processes=true' -o \
    | tee "$out/nvidia_smi_info.txt"
  echo "== preflight"
  time ansible-playbook -i inventories/gpu_local/hosts.yml playbooks/preflight.yml
  echo "preflight rc=$?"
  echo "== report"; cat "$out"/reports/preflight-latest/report.md
} 2>&1 | tee "$out/log.txt"
cp "$out"/reports/preflight-latest/report.json "$out/report.json" 2>/dev/null
cp "$out"/reports/preflight-latest/report.md "$out/report.md" 2>/dev/null
rm -rf "$out/reports"
