#!/usr/bin/env python
"""Benchmark: a rolling redeploy (serial 1) of N real vLLM CPU nodes against the sum of their floors.

Starts N `inferops/node:bookworm` containers (host network, the host's docker engine through
its socket), deploys version A of the real vLLM CPU server on each with playbooks/deploy.yml
(not timed), then times `ansible-playbook playbooks/redeploy.yml -e redeploy_serial=1` to
version B (one more serve argument, so every node is replaced behind the health gate and
smoke test) and measures, per node, its floor: the new container's own start (docker inspect
State.StartedAt) to the first 200 from /health, polled every 50 ms by this script.

Prints the rollout's wall time, each floor, the ratio wall / sum of floors (goal <= 1.15) and
the overhead in seconds. Run from the repository root after `make bed`:
  .venv/bin/python benchmarks/rolling_redeploy.py [--nodes 3] [--log FILE]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from bedlib import ROOT, ansible_env, bed_server_vars, health_ok, remove_containers, setup, start_host_nodes, started_at

PREFIX = 'inferops-roll-node-'
SERVER_PREFIX = 'inferops-roll-vllm-'
BASE_PORT = 19201
LABEL = 'inferops.bench.roll=1'
STATE = '/srv/inferops-bench-roll'


def watch(port, ups, stop):
    """Record every moment /health turns 200 (after not answering)."""
    was_up = health_ok(port)
    while not stop.is_set():
        up = health_ok(port)
        if up and not was_up:
            ups.append(time.time())
        was_up = up
        time.sleep(0.05)


def cleanup():
    remove_containers(LABEL, SERVER_PREFIX)
    shutil.rmtree(STATE, ignore_errors=True)


def run(cmd, env, log=None):
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if log:
        with open(log, 'w') as handle:
            handle.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        sys.exit('command failed (%d): %s\n%s' % (proc.returncode, ' '.join(cmd), proc.stdout[-5000:] + proc.stderr[-3000:]))
    return t0, time.time()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', type=int, default=3)
    parser.add_argument('--log', help='write the timed playbook output here (with ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks: per-task times)')
    args = parser.parse_args()
    setup()
    bindir = os.path.dirname(sys.executable)
    work = tempfile.mkdtemp(prefix='inferops-bench-roll-')
    cleanup()
    try:
        names = ['%s%d' % (PREFIX, i + 1) for i in range(args.nodes)]
        start_host_nodes(names, LABEL, volumes=['%s/{name}:%s/{name}' % (STATE, STATE)])
        hosts = dict((name, {'vllm_server_name': '%s%d' % (SERVER_PREFIX, i + 1), 'vllm_server_port': BASE_PORT + i})
                     for i, name in enumerate(names))
        group_vars = bed_server_vars(**{
            'ansible_connection': 'community.docker.docker', 'ansible_python_interpreter': '/usr/bin/python3',
            'inferops_accelerator': 'cpu', 'vllm_server_accelerator': 'cpu',
            'vllm_server_base_dir': STATE + '/{{ inventory_hostname }}/vllm',
            'vllm_server_hf_cache_dir': STATE + '/{{ inventory_hostname }}/hf',
            'vllm_server_health_timeout': 300,
            # Several CPU servers on few cores: let the scheduler place their OpenMP threads.
            'vllm_server_env': {'VLLM_CPU_OMP_THREADS_BIND': 'nobind'},
            'gpu_host_check_container_engine': 'docker', 'gpu_host_check_model_cache_path': STATE,
        })
        inventory = os.path.join(work, 'hosts.json')
        with open(inventory, 'w') as handle:
            json.dump({'all': {'children': {'gpu_nodes': {'hosts': hosts, 'vars': group_vars}}}}, handle)
        env = ansible_env(INFEROPS_REPORT_DIR=os.path.join(work, 'reports'))
        playbook = os.path.join(bindir, 'ansible-playbook')
        t0, t1 = run([playbook, '-i', inventory, 'playbooks/deploy.yml'], env)
        print('version A deployed on %d nodes in %.1f s (not timed)' % (args.nodes, t1 - t0))

        stop = threading.Event()
        ups = dict((h['vllm_server_name'], []) for h in hosts.values())
        threads = [threading.Thread(target=watch, args=(h['vllm_server_port'], ups[h['vllm_server_name']], stop), daemon=True)
                   for h in hosts.values()]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        t0, t1 = run([playbook, '-i', inventory, 'playbooks/redeploy.yml', '-e', 'redeploy_serial=1',
                      '-e', json.dumps({'vllm_server_extra_args': ['--enforce-eager', '--max-num-seqs=8']})], env, args.log)
        stop.set()
        wall = t1 - t0
        floors = []
        for host in hosts.values():
            name = host['vllm_server_name']
            start = started_at(name)
            after = [t for t in ups[name] if t > start]
            if not after:
                sys.exit('%s: no /health 200 seen after its start' % name)
            floors.append(after[0] - start)
            print('%s: container start -> /health 200 %.2f s' % (name, floors[-1]))
        total = sum(floors)
        print('rolling redeploy of %d real vLLM CPU nodes, serial 1: playbook %.2f s, sum of floors %.2f s' % (args.nodes, wall, total))
        print('ratio playbook / sum of floors: %.3f  (goal <= 1.15); overhead %.2f s (%.2f s per node)'
              % (wall / total, wall - total, (wall - total) / args.nodes))
    finally:
        cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
