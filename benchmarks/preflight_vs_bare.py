#!/usr/bin/env python
"""Benchmark: the preflight playbook against a bare nvidia-smi ad-hoc command, over N node containers.

Starts N `inferops/node:bookworm` containers whose nvidia-smi is the test double (it
replays real H100 captures) wrapped to count its own runs, and whose dcgm-exporter is the
double too. Then, alternately, R times each, with the same forks and connection:

  bare:      ansible gpu_nodes -m ansible.builtin.command -a "nvidia-smi --query-gpu=name --format=csv"
  preflight: ansible-playbook playbooks/preflight.yml   (role gpu_host_check + fleet report)

Prints the median wall times, their ratio (goal <= 1.3) and nvidia-smi runs per host per
preflight (one per query: --query-gpu and --version). With several node counts
(--nodes 1,5,20), it measures each and prints how the per-host cost grows. Run from the
repository root after `make bed`:
  .venv/bin/python benchmarks/preflight_vs_bare.py [--nodes 20] [--rounds 3]
  .venv/bin/python benchmarks/preflight_vs_bare.py --nodes 1,5,20 --rounds 2
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bedlib import setup

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
IMAGE = 'inferops/node:bookworm'
PREFIX = 'inferops-bench-node-'
WRAPPER = '#!/bin/sh\necho "$*" >> /tmp/nvidia-smi-calls\nexec python3 /usr/local/bin/nvidia-smi-double "$@"\n'


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def start_nodes(count):
    names = ['%s%02d' % (PREFIX, i) for i in range(count)]
    stop_nodes(names)
    fixtures = os.path.join(ROOT, 'tests', 'unit', 'fixtures', 'gpu', 'h100-80gb-x1')
    for name in names:
        sh(['docker', 'run', '-d', '--name', name, '--label', 'inferops.bench=1', IMAGE, 'sleep', 'infinity'])
        sh(['docker', 'cp', os.path.join(ROOT, 'tests', 'doubles', 'nvidia_smi_double.py'), name + ':/usr/local/bin/nvidia-smi-double'])
        sh(['docker', 'cp', fixtures, name + ':/usr/local/share/nvidia-smi-double'])
        sh(['docker', 'cp', os.path.join(ROOT, 'tests', 'doubles', 'dcgm_exporter_double.py'), name + ':/usr/local/bin/dcgm-exporter-double'])
        sh(['docker', 'exec', name, 'sh', '-c',
            "printf '%s' '" + WRAPPER + "' > /usr/local/bin/nvidia-smi && chmod +x /usr/local/bin/nvidia-smi"
            " && echo '{\"gpus\": 8}' > /etc/nvidia-smi-double.json"
            " && (setsid python3 /usr/local/bin/dcgm-exporter-double --port 9400 >/dev/null 2>&1 < /dev/null &)"])
    return names


def stop_nodes(names=None):
    out = sh(['docker', 'ps', '-aq', '--filter', 'label=inferops.bench=1']).stdout.split()
    if out:
        subprocess.run(['docker', 'rm', '-f'] + out, check=False, capture_output=True)


def timed(cmd, env):
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    elapsed = time.monotonic() - t0
    if proc.returncode != 0:
        sys.exit('command failed (%d): %s\n%s' % (proc.returncode, ' '.join(cmd), proc.stdout[-3000:] + proc.stderr[-3000:]))
    return elapsed


def measure(count, rounds, keep):
    """(bare median, preflight median) over count nodes."""
    bindir = os.path.dirname(sys.executable)
    work = tempfile.mkdtemp(prefix='inferops-bench-')
    try:
        t0 = time.monotonic()
        names = start_nodes(count)
        print('started %d node containers in %.1f s' % (len(names), time.monotonic() - t0))
        inventory = os.path.join(work, 'hosts.yml')
        with open(inventory, 'w') as handle:
            handle.write('all:\n  children:\n    gpu_nodes:\n      hosts:\n')
            for name in names:
                handle.write('        %s: {}\n' % name)
            handle.write('      vars:\n        ansible_connection: community.docker.docker\n'
                         '        ansible_python_interpreter: /usr/bin/python3\n'
                         '        gpu_host_check_expected_gpu_count: 8\n'
                         '        gpu_host_check_container_engine: none\n'
                         '        gpu_host_check_fail_on: never\n')
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_FORKS=str(count),
                   ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'), INFEROPS_REPORT_DIR=os.path.join(work, 'reports'),
                   PATH=bindir + os.pathsep + os.environ['PATH'])
        bare_cmd = [os.path.join(bindir, 'ansible'), '-i', inventory, 'gpu_nodes', '-m', 'ansible.builtin.command',
                    '-a', 'nvidia-smi --query-gpu=name --format=csv']
        pre_cmd = [os.path.join(bindir, 'ansible-playbook'), '-i', inventory, 'playbooks/preflight.yml']
        timed(bare_cmd, env)  # warm-up: Python caches on the nodes, controller imports
        for name in names:
            sh(['docker', 'exec', name, 'rm', '-f', '/tmp/nvidia-smi-calls'])
        bare, pre = [], []
        for dummy in range(rounds):
            bare.append(timed(bare_cmd, env))
            pre.append(timed(pre_cmd, env))
        calls = [int(sh(['docker', 'exec', n, 'sh', '-c', 'grep -vc "^--query-gpu=name " /tmp/nvidia-smi-calls || true']).stdout.strip() or 0)
                 for n in names]
        queries = sh(['docker', 'exec', names[0], 'sh', '-c', 'grep -v "^--query-gpu=name " /tmp/nvidia-smi-calls | cut -c1-40 | sort | uniq -c']).stdout
        b, p = statistics.median(bare), statistics.median(pre)
        print('nodes: %d, forks: %d, rounds: %d' % (count, count, rounds))
        print('bare nvidia-smi ad-hoc : median %.2f s  (runs: %s)' % (b, ', '.join('%.2f' % x for x in bare)))
        print('preflight playbook     : median %.2f s  (runs: %s)' % (p, ', '.join('%.2f' % x for x in pre)))
        print('ratio preflight / bare : %.2f  (goal <= 1.3)' % (p / b))
        print('nvidia-smi runs per host per preflight: %s' % sorted(set(c / rounds for c in calls)))
        print('per query (first node, all rounds):\n' + queries.rstrip())
        return b, p
    finally:
        if not keep:
            stop_nodes()
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', default='20', help='a node count, or several: 1,5,20')
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--keep', action='store_true', help='leave the node containers running')
    args = parser.parse_args()
    setup()
    counts = [int(n) for n in args.nodes.split(',')]
    results = [(n,) + measure(n, args.rounds, args.keep) for n in counts]
    if len(results) > 1:
        print('\nscaling (forks = nodes):')
        print('%6s %10s %12s %8s %18s' % ('nodes', 'bare s', 'preflight s', 'ratio', 'preflight s/host'))
        for n, b, p in results:
            print('%6d %10.2f %12.2f %8.2f %18.3f' % (n, b, p, p / b, p / n))
        first, last = results[0], results[-1]
        print('preflight wall grows %.2fx for %dx the nodes' % (last[2] / first[2], last[0] // first[0]))


if __name__ == '__main__':
    main()
