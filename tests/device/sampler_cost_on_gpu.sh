#!/usr/bin/env bash
# What GPU telemetry sampling costs on a real GPU node (the device tool's H100/H200): runs
# vllm_bench's own sampler (module_utils/gpu_sampler.Sampler, one `nvidia-smi -lms` process)
# for a while at the role's default interval and a faster one, and prints the CPU seconds it
# used as a share of one core and of all cores. ansible-core travels as wheels in .whl/ (the
# module_utils import it). Writes the figures to $OUT/sampler_cost.txt (or ./device-out).
set -uo pipefail
out=${OUT:-$PWD/device-out}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
mkdir -p /tmp/ac/ansible_collections/inferops
ln -sfn "$PWD" /tmp/ac/ansible_collections/inferops/gpu_inference
PYTHONPATH=/tmp/site:/tmp/ac python3 - "${SECONDS_PER_RUN:-30}" <<'PY' 2>&1 | tee "$out/sampler_cost.txt"
import os, subprocess, sys, time
from ansible_collections.inferops.gpu_inference.plugins.module_utils.gpu_sampler import Sampler, summarize
seconds = float(sys.argv[1])
print(subprocess.run(['nvidia-smi', '--query-gpu=name,driver_version', '--format=csv,noheader'],
                     capture_output=True, text=True).stdout.strip(), '| cores:', os.cpu_count())
for interval in (500, 100):
    sampler = Sampler('nvidia-smi', interval_ms=interval)
    t0 = time.time()
    sampler.start()
    time.sleep(seconds)
    samples = sampler.stop()
    wall = time.time() - t0
    gpus = len(set(s['gpu'] for s in samples))
    print('interval %d ms: %d samples over %d GPU(s) in %.1f s; sampler CPU %.3f s = %.3f %% of one core, %.4f %% of %d cores; errors: %s'
          % (interval, len(samples), gpus, wall, sampler.cpu_s, 100 * sampler.cpu_s / wall,
             100 * sampler.cpu_s / wall / os.cpu_count(), os.cpu_count(), sampler.errors or 'none'))
    print('  summary:', {k: v for k, v in summarize(samples).items() if not isinstance(v, (list, dict))})
PY
