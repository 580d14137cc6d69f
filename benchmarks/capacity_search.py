#!/usr/bin/env python
"""Benchmark: the capacity search's cost against a linear scan, and the canary gate's added time.

Part 1 (search): starts the real vLLM CPU server (inferops/vllm-cpu) and finds its capacity at a
p99 TTFT SLO twice, each step a real `vllm bench serve` run inside the serving container (what
the vllm_bench role's exec runner does), parsed by the collection's own parser:
  - the collection's search (plugin_utils/capacity.find_capacity: saturation probe, bracket, bisect
    to 10 %);
  - linear scans of the same range, up to their first miss: (resolution) from the range's bottom
    in steps of the search's own final resolution (its lowest miss - its capacity: the same
    precision it delivered); (scale) in steps of 10 % of the capacity found (a scan that is given
    the answer's scale). A scan that must resolve 10 % anywhere in the range steps by 10 % of its
    bottom; its run count is printed, not run.
Prints each one's runs and wall time, the capacities found, and the ratios search / scan
(goal <= 0.4).

Part 2 (canary, --canary): two node containers (host network, the host's docker engine) serve
version A (playbooks/deploy.yml, not timed); then playbooks/redeploy.yml to a same-speed version
B without the gate and to a same-speed version C with it (redeploy_max_throughput_drop 0.5,
redeploy_max_ttft_rise 2.0, one 64-request scenario at 8 in flight); prints both wall times and
the gate's added time per rollout.

Run from the repository root after `make bed`:
  .venv/bin/python benchmarks/capacity_search.py [--canary] [--ttft-ms 300] [--prompts 200] [--low 4]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from bedlib import ROOT, ansible_env, bed_server_argv, bed_server_vars, health_ok, remove_containers, setup, start_host_nodes

sys.path.insert(0, os.path.join(ROOT, '.collections'))
SERVER = 'inferops-capbench-vllm'
PORT = 19301
LABEL = 'inferops.bench.capacity=1'


def start_server():
    remove_containers(name_prefix=SERVER)
    subprocess.run(['docker', 'run', '-d', '--name', SERVER, '--label', LABEL, '--shm-size', '1g', '-p', '127.0.0.1:%d:8000' % PORT,
                    '-e', 'VLLM_CPU_OMP_THREADS_BIND=nobind'] + bed_server_argv(),
                   check=True, capture_output=True)
    for dummy in range(300):
        if health_ok(PORT):
            return
        time.sleep(1)
    sys.exit('the vLLM CPU server did not answer /health')


def make_measure(args, log):
    from ansible_collections.inferops.gpu_inference.plugins.module_utils.vllm_bench_output import merge, parse_json, parse_text

    def measure(x):
        name = 'cap-%s.json' % x
        cmd = ['docker', 'exec', SERVER, 'vllm', 'bench', 'serve', '--backend', 'vllm', '--model', 'tiny-llama',
               '--tokenizer', '/models/tiny-llama', '--base-url', 'http://127.0.0.1:8000', '--endpoint', '/v1/completions',
               '--dataset-name', 'random', '--random-input-len', str(args.input_len), '--random-output-len', str(args.output_len),
               '--num-prompts', str(args.prompts), '--request-rate', str(x), '--seed', '0', '--percentile-metrics', 'ttft,tpot,itl,e2el',
               '--metric-percentiles', '50,90,99', '--save-result', '--result-dir', '/tmp/capbench', '--result-filename', name]
        t0 = time.time()
        subprocess.run(['docker', 'exec', SERVER, 'mkdir', '-p', '/tmp/capbench'], check=True)
        run = subprocess.run(cmd, capture_output=True, text=True, check=False)
        seconds = time.time() - t0
        if run.returncode != 0:
            sys.exit('vllm bench serve failed: %s' % run.stderr[-2000:])
        raw = subprocess.run(['docker', 'exec', SERVER, 'cat', '/tmp/capbench/' + name], capture_output=True, text=True, check=True).stdout
        results = merge(parse_text(run.stdout), parse_json(raw, detailed=False))
        log.append({'x': x, 'seconds': round(seconds, 2), 'ttft_p99_ms': results.get('ttft_p99_ms'), 'failed': results.get('failed')})
        print('  rate %-8s p99 TTFT %8.1f ms  failed %s  (%.1f s)' % (x, results.get('ttft_p99_ms') or -1, results.get('failed'), seconds),
              flush=True)
        return {'results': results, 'seconds': seconds}
    return measure


def part_search(args):
    from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import capacity
    slo = {'ttft_p99_ms': args.ttft_ms, 'tpot_p99_ms': None}
    start_server()
    try:
        make_measure(args, [])(4)  # warm-up, not counted
        log = []
        print('search (saturation probe, bracket, bisect to %d %%):' % round(args.precision * 100), flush=True)
        t0 = time.time()
        found = capacity.find_capacity(make_measure(args, log), slo, low=args.low, high=args.high, precision=args.precision)
        search_s = time.time() - t0
        scans = {}
        # (a) the scan given the answer's scale: step = precision x the capacity found, from that step;
        # (b) the scan at the search's own final resolution (its last miss - its capacity), from low.
        for name, step, start in (('scale', round(args.precision * found['capacity'], 3), None),
                                  ('resolution', round(found['next_step']['x'] - found['capacity'], 3), args.low)):
            print('linear scan (%s): step %s req/s from %s:' % (name, step, start or step), flush=True)
            t0 = time.time()
            scan = capacity.linear_scan(make_measure(args, []), slo, start or step, step, args.high)
            scans[name] = dict(scan, seconds=time.time() - t0, step=step, start=start or step)
    finally:
        remove_containers(label=LABEL)
    out = {'search': {'runs': found['runs'], 'seconds': round(search_s, 1), 'capacity': found['capacity'],
                      'next_miss': (found.get('next_step') or {}).get('x'), 'stopped': found['stopped']},
           'range_precision_scan_runs': int((found['capacity'] - args.low) / (args.precision * args.low)) + 2}
    print('\nsearch: %d runs in %.1f s -> capacity %s req/s (next step %s missed; %s)' % (
        found['runs'], search_s, found['capacity'], out['search']['next_miss'], found['stopped']))
    for name, scan in scans.items():
        out[name] = {'runs': scan['runs'], 'seconds': round(scan['seconds'], 1), 'capacity': scan['capacity'], 'step': scan['step'],
                     'start': scan['start'], 'ratio_runs': round(found['runs'] / float(scan['runs']), 3),
                     'ratio_seconds': round(search_s / scan['seconds'], 3)}
        print('linear scan (%s, step %s from %s): %d runs in %.1f s -> capacity %s req/s; search / scan: runs %.3f, wall time %.3f'
              ' (goal <= 0.4)' % (name, scan['step'], scan['start'], scan['runs'], scan['seconds'], scan['capacity'],
                                  out[name]['ratio_runs'], out[name]['ratio_seconds']))
    print('a scan resolving %d %% anywhere in [%s, %s] (step %s req/s) would need %d runs to reach it' % (
        round(args.precision * 100), args.low, args.high, args.precision * args.low, out['range_precision_scan_runs']))
    return out


def rollout(inventory, extra, log):
    os.makedirs(os.path.dirname(log), exist_ok=True)
    t0 = time.time()
    with open(log, 'w') as handle:
        rc = subprocess.run(['ansible-playbook', '-i', inventory, os.path.join(ROOT, 'playbooks', 'redeploy.yml'), '-e', 'redeploy_preflight=false']
                            + extra, cwd=ROOT, env=ansible_env(INFEROPS_REPORT_DIR=os.path.dirname(log)), stdout=handle,
                            stderr=subprocess.STDOUT, check=False).returncode
    if rc != 0:
        sys.exit('redeploy failed (rc %d): see %s' % (rc, log))
    return time.time() - t0


def part_canary(args):
    names = ['inferops-capbench-node1', 'inferops-capbench-node2']
    work = tempfile.mkdtemp(prefix='inferops-canary-')
    inventory = os.path.join(work, 'hosts.yml')
    hosts = dict((n, {'vllm_server_name': n.replace('node', 'vllm'), 'vllm_server_port': PORT + 10 + i,
                      'vllm_server_base_dir': '/srv/inferops-capbench/%s/vllm' % n, 'vllm_server_hf_cache_dir': '/srv/inferops-capbench/%s/hf' % n,
                      'vllm_bench_result_dir': '/srv/inferops-capbench/%s/bench' % n}) for i, n in enumerate(names))
    common = bed_server_vars(**{
        'ansible_connection': 'community.docker.docker', 'ansible_python_interpreter': '/usr/bin/python3',
        'inferops_accelerator': 'cpu', 'vllm_server_collect_env': False, 'vllm_server_env': {'VLLM_CPU_OMP_THREADS_BIND': 'nobind'},
        'vllm_server_smoke_tests': ['completion'], 'vllm_bench_sample_gpu': 'none'})
    with open(inventory, 'w') as handle:
        json.dump({'all': {'children': {'gpu_nodes': {'hosts': hosts, 'vars': common}}}}, handle)
    remove_containers(label=LABEL, name_prefix='inferops-capbench-')
    start_host_nodes(names, LABEL, volumes=['/srv/inferops-capbench/{name}:/srv/inferops-capbench/{name}'])
    try:
        with open(os.path.join(work, 'deploy.log'), 'w') as handle:
            subprocess.run(['ansible-playbook', '-i', inventory, os.path.join(ROOT, 'playbooks', 'deploy.yml')], cwd=ROOT, env=ansible_env(),
                           stdout=handle, stderr=subprocess.STDOUT, check=True)
        plain = rollout(inventory, ['-e', 'vllm_server_max_model_len=1000'], os.path.join(work, 'plain', 'redeploy.log'))
        gate = json.dumps({'redeploy_max_throughput_drop': 0.5, 'redeploy_max_ttft_rise': 2.0, 'redeploy_perf_scenarios': [
            {'name': 'canary-c8', 'num_prompts': 64, 'max_concurrency': 8, 'request_rate': 'inf', 'input_len': 128, 'output_len': 32}]})
        gated = rollout(inventory, ['-e', 'vllm_server_max_model_len=1001', '-e', gate], os.path.join(work, 'gated', 'redeploy.log'))
    finally:
        remove_containers(label=LABEL, name_prefix='inferops-capbench-')
    print('\nrollout of 2 nodes without the gate: %.1f s; with the canary gate: %.1f s; the gate added %.1f s per rollout' % (
        plain, gated, gated - plain))
    return {'plain_s': round(plain, 1), 'gated_s': round(gated, 1), 'added_s': round(gated - plain, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--ttft-ms', type=float, default=300.0)
    parser.add_argument('--prompts', type=int, default=200)
    parser.add_argument('--input-len', type=int, default=256)
    parser.add_argument('--output-len', type=int, default=64)
    parser.add_argument('--low', type=float, default=4.0)
    parser.add_argument('--high', type=float, default=128.0)
    parser.add_argument('--precision', type=float, default=0.1)
    parser.add_argument('--canary', action='store_true', help='also time a 2-node rollout with and without the canary gate')
    args = parser.parse_args()
    setup()
    out = {'search': part_search(args)}
    if args.canary:
        out['canary'] = part_canary(args)
    print(json.dumps(out, indent=2))


if __name__ == '__main__':
    main()
