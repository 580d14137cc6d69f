#!/usr/bin/env python
"""Benchmark: a rolling redeploy's per-node window, with the model staged ahead against copied inside the window.

Starts N `inferops/node:bookworm` containers (host network, the host's docker engine through its socket) and
deploys the real vLLM CPU server on each from a model folder on the controller (vllm_server_model_source: the
bed's tiny Llama taken out of its image, plus --mb MB of padding that vLLM does not read, standing in for a
model's weight files). Then, twice, the folder changes (a new padding file of --mb MB) and
`playbooks/redeploy.yml -e redeploy_serial=1` rolls one more serve argument out:

1. copied in the window: the redeploy alone; each node's deploy copies the new file after the node is drained;
2. staged ahead: `playbooks/stage.yml` first (timed on its own, every node at once), then the redeploy, whose
   nodes find their copy current and copy nothing.

A node's window is from its old server's last /health 200 to its new server's first (polled every 50 ms by this
script); its warm start (the floor) is the new container's own start (docker inspect State.StartedAt) to that
first 200. Prints each node's window and floor, and per variant the median ratio window / floor (goal for the
staged one: <= 1.1). Run from the repository root after `make bed`:
  .venv/bin/python benchmarks/staged_window.py [--nodes 2] [--mb 1024]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from bedlib import ROOT, ansible_env, bed_server_vars, health_ok, remove_containers, setup, start_host_nodes, started_at, sh

PREFIX = 'inferops-stage-node-'
SERVER_PREFIX = 'inferops-stage-vllm-'
BASE_PORT = 19251
LABEL = 'inferops.bench.stage=1'
STATE = '/srv/inferops-bench-stage'


def watch(port, changes, stop):
    """Record every moment /health changes: (time, up)."""
    was_up = health_ok(port)
    while not stop.is_set():
        up = health_ok(port)
        if up != was_up:
            changes.append((time.time(), up))
        was_up = up
        time.sleep(0.05)


def cleanup():
    remove_containers(LABEL, SERVER_PREFIX)
    shutil.rmtree(STATE, ignore_errors=True)


def run(cmd, env):
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    if proc.returncode != 0:
        sys.exit('command failed (%d): %s\n%s' % (proc.returncode, ' '.join(cmd), proc.stdout[-5000:] + proc.stderr[-3000:]))
    return time.time() - t0


def padding(path, mb):
    with open(path, 'wb') as handle:
        for dummy in range(mb):
            handle.write(os.urandom(1 << 20))


def model_folder(work, mb):
    """The bed's tiny Llama out of its image, plus padding vLLM does not read."""
    image = bed_server_vars()['vllm_server_image']
    cid = sh(['docker', 'create', image]).stdout.strip()
    try:
        sh(['docker', 'cp', '%s:%s' % (cid, bed_server_vars()['vllm_server_model']), os.path.join(work, 'src')])
    finally:
        sh(['docker', 'rm', cid])
    folder = os.path.join(work, 'src')
    padding(os.path.join(folder, 'padding-0.dat'), mb)
    return folder


def roll(playbook, inventory, env, hosts, extra_arg, stage=None):
    """One rolling redeploy, windows and floors measured per node; stage: a playbook run first (timed)."""
    staged = run([playbook, '-i', inventory, stage], env) if stage else None
    stop = threading.Event()
    changes = dict((h['vllm_server_name'], []) for h in hosts.values())
    threads = [threading.Thread(target=watch, args=(h['vllm_server_port'], changes[h['vllm_server_name']], stop), daemon=True)
               for h in hosts.values()]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    wall = run([playbook, '-i', inventory, 'playbooks/redeploy.yml', '-e', 'redeploy_serial=1',
                '-e', json.dumps({'vllm_server_extra_args': ['--enforce-eager', extra_arg]})], env)
    stop.set()
    for thread in threads:
        thread.join()
    rows = []
    for host in hosts.values():
        name = host['vllm_server_name']
        start = started_at(name)
        ups = [t for t, up in changes[name] if up and t > start]
        downs = [t for t, up in changes[name] if not up and t < start]
        if not ups or not downs:
            sys.exit('%s: no down and up seen around its new start: %s' % (name, changes[name]))
        rows.append((name, ups[0] - downs[-1], ups[0] - start))
    return wall, staged, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', type=int, default=2)
    parser.add_argument('--mb', type=int, default=1024, help='padding added to the model folder per change, in MB')
    args = parser.parse_args()
    setup()
    bindir = os.path.dirname(sys.executable)
    work = tempfile.mkdtemp(prefix='inferops-bench-stage-')
    cleanup()
    try:
        source = model_folder(work, args.mb)
        names = ['%s%d' % (PREFIX, i + 1) for i in range(args.nodes)]
        start_host_nodes(names, LABEL, volumes=['%s/{name}:%s/{name}' % (STATE, STATE)])
        hosts = dict((name, {'vllm_server_name': '%s%d' % (SERVER_PREFIX, i + 1), 'vllm_server_port': BASE_PORT + i})
                     for i, name in enumerate(names))
        group_vars = bed_server_vars(**{
            'ansible_connection': 'community.docker.docker', 'ansible_python_interpreter': '/usr/bin/python3',
            'inferops_accelerator': 'cpu', 'vllm_server_accelerator': 'cpu',
            'vllm_server_model': '', 'vllm_server_model_source': source,
            'vllm_server_model_dir': STATE + '/{{ inventory_hostname }}/models',
            'vllm_server_base_dir': STATE + '/{{ inventory_hostname }}/vllm',
            'vllm_server_hf_cache_dir': STATE + '/{{ inventory_hostname }}/hf',
            'vllm_server_health_timeout': 300,
            'vllm_server_env': {'VLLM_CPU_OMP_THREADS_BIND': 'nobind'},
            'gpu_host_check_container_engine': 'docker', 'gpu_host_check_model_cache_path': STATE,
        })
        inventory = os.path.join(work, 'hosts.json')
        with open(inventory, 'w') as handle:
            json.dump({'all': {'children': {'gpu_nodes': {'hosts': hosts, 'vars': group_vars}}}}, handle)
        env = ansible_env(INFEROPS_REPORT_DIR=os.path.join(work, 'reports'))
        playbook = os.path.join(bindir, 'ansible-playbook')
        print('version A deployed on %d nodes in %.1f s (not timed; %d MB copied to each)'
              % (args.nodes, run([playbook, '-i', inventory, 'playbooks/deploy.yml'], env), args.mb))

        ratios = {}
        for variant, extra_arg, stage in (('copied in the window', '--max-num-seqs=8', None),
                                          ('staged ahead', '--max-num-seqs=4', 'playbooks/stage.yml')):
            padding(os.path.join(source, 'padding-%s.dat' % extra_arg[-1]), args.mb)
            wall, staged, rows = roll(playbook, inventory, env, hosts, extra_arg, stage)
            before = '' if stage is None else '; stage.yml before it %.1f s (%d nodes at once)' % (staged or 0.0, args.nodes)
            print('\n%s: redeploy %.1f s%s' % (variant, wall, before))
            for name, window, floor in rows:
                print('  %s: window %.2f s, warm start %.2f s, ratio %.3f' % (name, window, floor, window / floor))
            ratios[variant] = statistics.median(window / floor for dummy, window, floor in rows)
        print('\nmedian window / warm start: copied in the window %.3f, staged ahead %.3f (goal <= 1.1)'
              % (ratios['copied in the window'], ratios['staged ahead']))
    finally:
        cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
