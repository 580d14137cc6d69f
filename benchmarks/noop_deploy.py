#!/usr/bin/env python
"""Benchmark: an idempotent no-op deploy over N lightweight nodes against a bare docker_container task.

Starts N `inferops/node:bookworm` containers (the nodes: host network, the host's docker
engine through its socket) and has playbooks/deploy.yml start one server container per node
from a lightweight image whose `vllm` is tests/doubles/vllm_openai_double.py (it answers the
OpenAI endpoints the role's gate and smoke test use; twenty real vLLM servers do not fit on
this machine). Then, alternately, R times each, same forks and connection:

  bare:     a playbook with one community.docker.docker_container task per node (state started,
            the same name, image, command, port and restart policy): 0 changed
  deploy:   ansible-playbook playbooks/deploy.yml (validate, probe, gate the unchanged server): 0 changed

Prints the median wall times and their ratio (goal <= 1.3), and checks that both changed
nothing. Run from the repository root after `make bed`:
  .venv/bin/python benchmarks/noop_deploy.py [--nodes 20] [--rounds 3]
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from bedlib import NODE_IMAGE, ROOT, ansible_env, remove_containers, setup, sh, start_host_nodes

SERVER_IMAGE = 'inferops/vllm-double:bench'
PREFIX = 'inferops-noop-node-'
SERVER_PREFIX = 'inferops-noop-vllm-'
BASE_PORT = 19100
LABEL = 'inferops.bench.noop=1'

BARE = """---
- name: Bare docker_container over the same nodes
  hosts: gpu_nodes
  gather_facts: false
  tasks:
    - name: The server container, as the role started it
      community.docker.docker_container:
        name: "{{ vllm_server_name }}"
        image: "{{ vllm_server_image }}"
        command: "{{ bare_command }}"
        published_ports: ["127.0.0.1:{{ vllm_server_port }}:8000"]
        restart_policy: unless-stopped
        state: started
"""


def build_server_image():
    sh(['docker', 'rm', '-f', 'inferops-noop-build'])
    sh(['docker', 'create', '--name', 'inferops-noop-build', NODE_IMAGE, 'true'])
    sh(['docker', 'cp', os.path.join(ROOT, 'tests', 'doubles', 'vllm_openai_double.py'), 'inferops-noop-build:/usr/local/bin/vllm'])
    sh(['docker', 'commit', '--change', 'ENTRYPOINT ["python3", "/usr/local/bin/vllm"]', '--change', 'CMD []',
        'inferops-noop-build', SERVER_IMAGE])
    sh(['docker', 'rm', '-f', 'inferops-noop-build'])


def cleanup():
    remove_containers(LABEL, SERVER_PREFIX)
    shutil.rmtree('/tmp/inferops-noop', ignore_errors=True)


def start_nodes(count):
    names = ['%s%02d' % (PREFIX, i) for i in range(count)]
    start_host_nodes(names, LABEL)
    return names


def run(cmd, env):
    t0 = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    elapsed = time.monotonic() - t0
    if proc.returncode != 0:
        sys.exit('command failed (%d): %s\n%s' % (proc.returncode, ' '.join(cmd), proc.stdout[-4000:] + proc.stderr[-3000:]))
    changed = sum(int(c) for c in re.findall(r'changed=(\d+)', proc.stdout))
    return elapsed, changed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nodes', type=int, default=20)
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    setup()
    bindir = os.path.dirname(sys.executable)
    work = tempfile.mkdtemp(prefix='inferops-bench-noop-')
    cleanup()
    try:
        t0 = time.monotonic()
        build_server_image()
        names = start_nodes(args.nodes)
        print('built %s and started %d node containers in %.1f s' % (SERVER_IMAGE, len(names), time.monotonic() - t0))
        inventory = os.path.join(work, 'hosts.yml')
        hosts = dict((name, {'vllm_server_name': '%s%02d' % (SERVER_PREFIX, i), 'vllm_server_port': BASE_PORT + i})
                     for i, name in enumerate(names))
        group_vars = {
            'ansible_connection': 'community.docker.docker', 'ansible_python_interpreter': '/usr/bin/python3',
            'vllm_server_accelerator': 'cpu', 'vllm_server_image': SERVER_IMAGE, 'vllm_server_image_pull': 'never',
            'vllm_server_model': '/models/double', 'vllm_server_served_model_name': 'double',
            'vllm_server_base_dir': '/tmp/inferops-noop/{{ inventory_hostname }}/vllm',
            'vllm_server_hf_cache_dir': '/tmp/inferops-noop/{{ inventory_hostname }}/hf',
            'vllm_server_ipc_host': False, 'vllm_server_shm_size': '64m', 'vllm_server_health_timeout': 60,
        }
        with open(inventory, 'w') as handle:
            json.dump({'all': {'children': {'gpu_nodes': {'hosts': hosts, 'vars': group_vars}}}}, handle)
        bare = os.path.join(work, 'bare.yml')
        with open(bare, 'w') as handle:
            handle.write(BARE)
        env = ansible_env(ANSIBLE_FORKS=str(args.nodes))
        playbook = os.path.join(bindir, 'ansible-playbook')
        deploy_cmd = [playbook, '-i', inventory, 'playbooks/deploy.yml']
        t0 = time.monotonic()
        first, changed = run(deploy_cmd, env)
        print('first deploy (starts %d servers, gates and smoke-tests them): %.1f s, %d changed' % (args.nodes, first, changed))
        # The command the role gave each container, for the bare task to compare against.
        command = json.loads(sh(['docker', 'inspect', '--format', '{{json .Config.Cmd}}', SERVER_PREFIX + '00']).stdout)
        bare_cmd = [playbook, '-i', inventory, bare, '-e', json.dumps({'bare_command': command})]
        run(bare_cmd, env)  # warm-up
        bares, deploys = [], []
        for dummy in range(args.rounds):
            elapsed, changed = run(bare_cmd, env)
            if changed:
                sys.exit('the bare docker_container task changed %d thing(s): not a no-op' % changed)
            bares.append(elapsed)
            elapsed, changed = run(deploy_cmd, env)
            if changed:
                sys.exit('the no-op deploy changed %d thing(s)' % changed)
            deploys.append(elapsed)
        b, d = statistics.median(bares), statistics.median(deploys)
        print('nodes: %d, forks: %d, rounds: %d; both runs changed nothing' % (args.nodes, args.nodes, args.rounds))
        print('bare docker_container : median %.2f s  (runs: %s)' % (b, ', '.join('%.2f' % x for x in bares)))
        print('no-op deploy.yml      : median %.2f s  (runs: %s)' % (d, ', '.join('%.2f' % x for x in deploys)))
        print('ratio deploy / bare   : %.2f  (goal <= 1.3)' % (d / b))
    finally:
        cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
