#!/usr/bin/env bash
# The whole job on a real GPU (the device tool's H100/H200), with the collection's own playbooks
# and a local connection: preflight.yml -> deploy.yml (process runtime under supervisord,
# accelerator nvidia; measured by benchmarks/deploy_first_answer_gpu.py) -> deploy.yml again
# (nothing to change) with evidence -> bench.yml (nvidia-smi sampling) -> the report files.
#
# Needs, on the GPU machine: the vLLM 0.26.0 bundle unpacked by shared/tools/gpu-vllm/on_device.sh
# (/tmp/site: vllm, ansible-core, supervisor), and the bed's tiny model carried in .gpu-model/.
# Brought over as README.md ("On real GPU hosts") says; then, in the last call:
#   . .gpu/on_device.sh && tests/device/vllm_on_gpu.sh [stage ...]     stages: preflight deploy bench health (default: all)
# Writes under $OUT (or ./device-out): log.txt (everything printed) and results.tgz (reports,
# evidence, the server's start-up log, the playbooks' output).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/device-out}
keep=/tmp/inferops-gpu-run
mkdir -p "$out" "$keep"
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(preflight deploy bench health)
command -v vllm >/dev/null || { echo "vllm is not on PATH: source .gpu/on_device.sh first" >&2; exit 1; }
mkdir -p /tmp/gpu-model && cp -r .gpu-model/tiny-llama /tmp/gpu-model/
mkdir -p /tmp/ac/ansible_collections/inferops
ln -sfn "$PWD" /tmp/ac/ansible_collections/inferops/gpu_inference
export ANSIBLE_COLLECTIONS_PATH=/tmp/ac ANSIBLE_CONFIG=$PWD/ansible.cfg INFEROPS_REPORT_DIR=$keep/reports
# Ansible's log file stamps each line (ms): where a playbook's time goes (no profile_tasks in the bundle).
export ANSIBLE_LOG_PATH=$keep/ansible.log PYTHONUNBUFFERED=1
inv=inventories/gpu_local/hosts.yml
evidence=(-e "vllm_server_evidence_dir=$keep/evidence")
rc=0

run_stage() {
  local t0=$SECONDS
  echo "===== $1 ($(date -u +%H:%M:%S))"
  case $1 in
    preflight)
      nvidia-smi; nvidia-smi --version; ansible --version | head -1
      ansible-playbook -i $inv playbooks/preflight.yml || rc=1 ;;
    deploy)
      # Two fresh deploys (the first with a cold compile cache), then one that must change nothing.
      python3 benchmarks/deploy_first_answer_gpu.py -i $inv --rounds 2 --log "$keep/deploy-rounds.log" || rc=1
      cp /tmp/inferops/vllm/vllm/logs/server.log "$keep/server-start.log" 2>/dev/null
      ansible-playbook -i $inv playbooks/deploy.yml | tee "$keep/deploy-noop.log" || rc=1
      grep -q 'gpu-local *: ok=[0-9]* *changed=0 ' "$keep/deploy-noop.log" && echo "no-op deploy: changed=0" \
        || { echo "no-op deploy changed something"; rc=1; }
      ansible-playbook -i $inv playbooks/deploy.yml "${evidence[@]}" > "$keep/deploy-evidence.log" || rc=1
      echo "== nvidia-smi while serving"; nvidia-smi
      nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv ;;
    bench)
      ansible-playbook -i $inv playbooks/bench.yml | tee "$keep/bench.log" || rc=1
      cat "$keep"/reports/bench-latest/summary.md 2>/dev/null ;;
    health)
      # Day 2 on a real GPU: health.yml (serving? the GPU's health from the real nvidia-smi -q and kernel log),
      # then the gateway's serving check against the server: its cost on the node, a hung engine's time to DOWN.
      pgrep -f 'vllm serve' >/dev/null || ansible-playbook -i $inv playbooks/deploy.yml > "$keep/deploy-for-health.log" || rc=1
      ansible-playbook -i $inv playbooks/health.yml | tee "$keep/health.log" || rc=1
      cat "$keep"/reports/health-latest/report.json 2>/dev/null | head -c 4000; echo
      pid=$(pgrep -of 'vllm serve') || { echo "no vllm serve process"; rc=1; return; }
      python3 benchmarks/serving_check_cost.py --url http://127.0.0.1:8000 --pid "$pid" --window 60 || rc=1 ;;
  esac
  echo "===== $1 done in $((SECONDS - t0)) s (rc so far $rc)"
}

for stage in "${stages[@]}"; do
  run_stage "$stage" > >(tee -a "$out/log.txt") 2>&1
done
cp /tmp/inferops/vllm/vllm/logs/server.log "$keep/server.log" 2>/dev/null
tar -czf "$out/results.tgz" -C "$keep" --dereference . 2>/dev/null
exit $rc
