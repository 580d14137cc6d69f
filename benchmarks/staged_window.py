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

With --source hub the same model is served by the hub double (tests/doubles/hf_hub_double.py, a site mirror on
loopback) and named by hub id at a pinned revision: version A is staged and deployed; then the folder changes (a new
commit), `playbooks/stage.yml -e vllm_server_model_revision=<commit>` downloads it into each node's Hugging Face cache
(timed: --mb MB per node, every node at once) and the redeploy rolls the new revision out, its servers reading the
cache offline (the image's HF_HUB_OFFLINE=1): the window must hold no download. Only the staged variant runs (the role
downloads nothing in a deploy; a server that downloads at its start is vLLM's own business).

A node's window is from its old server's last /health 200 to its new server's first (polled every 50 ms by this
script); its warm start (the floor) is the new container's own start (docker inspect State.StartedAt) to that
first 200. Prints each node's window and floor, and per variant the median ratio window / floor (goal for the
staged one: <= 1.1). Run from the repository root after `make bed`:
  .venv/bin/python benchmarks/staged_window.py [--nodes 2] [--mb 1024] [--source folder|hub]
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
HUB_MODEL = 'inferops-bench/tiny-llama'
HUB_PORT = 19260


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


class HubDouble(object):
    """The hub double serving folder as HUB_MODEL on HUB_PORT; restart() after the folder changed: a new commit."""

    def __init__(self, folder):
        self.folder, self.proc, self.commit = folder, None, ''

    def restart(self):
        self.stop()
        self.proc = subprocess.Popen([sys.executable, os.path.join(ROOT, 'tests', 'doubles', 'hf_hub_double.py'),
                                      '--repo', '%s=%s' % (HUB_MODEL, self.folder), '--port', str(HUB_PORT)],
                                     stdout=subprocess.PIPE, text=True)
        self.commit = self.proc.stdout.readline().split()[1]
        return self.commit

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()


def roll(playbook, inventory, env, hosts, extra_arg, stage=None, extra_vars=None):
    """One rolling redeploy, windows and floors measured per node; stage: a playbook run first (timed)."""
    more = ['-e', json.dumps(extra_vars)] if extra_vars else []
    staged = run([playbook, '-i', inventory, stage] + more, env) if stage else None
    stop = threading.Event()
    changes = dict((h['vllm_server_name'], []) for h in hosts.values())
    threads = [threading.Thread(target=watch, args=(h['vllm_server_port'], changes[h['vllm_server_name']], stop), daemon=True)
               for h in hosts.values()]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    wall = run([playbook, '-i', inventory, 'playbooks/redeploy.yml', '-e', 'redeploy_serial=1',
                '-e', json.dumps(dict(extra_vars or {}, vllm_server_extra_args=['--enforce-eager', extra_arg]))], env)
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
    parser.add_argument('--source', choices=['folder', 'hub'], default='folder',
                        help='the model from a folder on the controller, or by hub id from the hub double')
    args = parser.parse_args()
    setup()
    bindir = os.path.dirname(sys.executable)
    work = tempfile.mkdtemp(prefix='inferops-bench-stage-')
    cleanup()
    hub = None
    try:
        source = model_folder(work, args.mb)
        model = {'vllm_server_model': '', 'vllm_server_model_source': source}
        if args.source == 'hub':
            hub = HubDouble(source)
            model = {'vllm_server_model': HUB_MODEL, 'vllm_server_model_source': '', 'vllm_server_model_revision': hub.restart(),
                     'vllm_server_hf_endpoint': 'http://127.0.0.1:%d' % HUB_PORT}
        names = ['%s%d' % (PREFIX, i + 1) for i in range(args.nodes)]
        start_host_nodes(names, LABEL, volumes=['%s/{name}:%s/{name}' % (STATE, STATE)])
        hosts = dict((name, {'vllm_server_name': '%s%d' % (SERVER_PREFIX, i + 1), 'vllm_server_port': BASE_PORT + i})
                     for i, name in enumerate(names))
        group_vars = bed_server_vars(**dict(model, **{
            'ansible_connection': 'community.docker.docker', 'ansible_python_interpreter': '/usr/bin/python3',
            'inferops_accelerator': 'cpu', 'vllm_server_accelerator': 'cpu',
            'vllm_server_model_dir': STATE + '/{{ inventory_hostname }}/models',
            'vllm_server_base_dir': STATE + '/{{ inventory_hostname }}/vllm',
            'vllm_server_hf_cache_dir': STATE + '/{{ inventory_hostname }}/hf',
            'vllm_server_health_timeout': 300,
            'vllm_server_env': {'VLLM_CPU_OMP_THREADS_BIND': 'nobind'},
            'gpu_host_check_container_engine': 'docker', 'gpu_host_check_model_cache_path': STATE,
        }))
        inventory = os.path.join(work, 'hosts.json')
        with open(inventory, 'w') as handle:
            json.dump({'all': {'children': {'gpu_nodes': {'hosts': hosts, 'vars': group_vars}}}}, handle)
        env = ansible_env(INFEROPS_REPORT_DIR=os.path.join(work, 'reports'))
        playbook = os.path.join(bindir, 'ansible-playbook')
        if hub:
            run([playbook, '-i', inventory, 'playbooks/stage.yml'], env)
        print('version A deployed on %d nodes in %.1f s (not timed; %d MB %s each)'
              % (args.nodes, run([playbook, '-i', inventory, 'playbooks/deploy.yml'], env), args.mb,
                 'downloaded from the hub double by stage.yml to' if hub else 'copied to'))

        ratios = {}
        variants = (('copied in the window', '--max-num-seqs=8', None),
                    ('staged ahead', '--max-num-seqs=4', 'playbooks/stage.yml'))
        for variant, extra_arg, stage in variants[1:] if hub else variants:
            padding(os.path.join(source, 'padding-%s.dat' % extra_arg[-1]), args.mb)
            revision = {'vllm_server_model_revision': hub.restart()} if hub else None
            wall, staged, rows = roll(playbook, inventory, env, hosts, extra_arg, stage, revision)
            before = '' if stage is None else '; stage.yml before it %.1f s (%d nodes at once)' % (staged or 0.0, args.nodes)
            print('\n%s: redeploy %.1f s%s' % (variant, wall, before))
            for name, window, floor in rows:
                print('  %s: window %.2f s, warm start %.2f s, ratio %.3f' % (name, window, floor, window / floor))
            ratios[variant] = statistics.median(window / floor for dummy, window, floor in rows)
        print('\nmedian window / warm start: %s (goal for staged ahead <= 1.1)'
              % ', '.join('%s %.3f' % (variant, ratio) for variant, ratio in ratios.items()))
    finally:
        if hub:
            hub.stop()
        cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
