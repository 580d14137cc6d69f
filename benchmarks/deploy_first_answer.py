#!/usr/bin/env python
"""Benchmark: deploy-to-first-answer of playbooks/deploy.yml against the container's own start -> /health floor.

On the CPU bed (the real vLLM CPU image, docker runtime, local connection), R times:
removes the server container, runs `ansible-playbook playbooks/deploy.yml` (validate,
start, health gate, smoke test: completion, chat, stream) and measures

  wall:  the playbook's wall time, from its start to its exit (the smoke test answered);
  floor: the container's own start (docker inspect State.StartedAt) to the first 200 from
         /health, polled every 50 ms by this script in a thread while the playbook runs.

Prints both, their ratio (goal <= 1.10) and the overhead in seconds. Run from the repository
root after `make bed`:  .venv/bin/python benchmarks/deploy_first_answer.py [--rounds 2] [--log FILE]
(--log keeps the last round's playbook output; with ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks
it shows each task's time.)
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

from bedlib import ROOT, bed_server_vars, health_ok, setup, started_at

NAME = 'inferops-bench-deploy'
PORT = 18201


def watch(first, stop):
    while not stop.is_set():
        if health_ok(PORT):
            first.append(time.time())
            return
        time.sleep(0.05)


def remove():
    subprocess.run(['docker', 'rm', '-f', NAME, NAME + '-previous'], capture_output=True, check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--log', help="write the last round's playbook output here")
    args = parser.parse_args()
    setup()
    bindir = os.path.dirname(sys.executable)
    work = tempfile.mkdtemp(prefix='inferops-bench-deploy-')
    extra = bed_server_vars(
        vllm_server_accelerator='cpu', vllm_server_port=PORT, vllm_server_name=NAME, vllm_server_base_dir=work + '/vllm',
        vllm_server_hf_cache_dir=work + '/hf',
    )
    cmd = [os.path.join(bindir, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
           '-e', 'ansible_python_interpreter=' + sys.executable, '-e', 'inferops_hosts=localhost',
           '-e', json.dumps(extra), 'playbooks/deploy.yml']
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'))
    walls, floors = [], []
    try:
        for dummy in range(args.rounds):
            remove()
            first, stop = [], threading.Event()
            thread = threading.Thread(target=watch, args=(first, stop), daemon=True)
            t0 = time.time()
            thread.start()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
            wall = time.time() - t0
            stop.set()
            if proc.returncode != 0 or not first:
                sys.exit('deploy failed (rc %d):\n%s' % (proc.returncode, proc.stdout[-4000:] + proc.stderr[-2000:]))
            start = started_at(NAME)
            floor = first[0] - start
            before, after = start - t0, t0 + wall - first[0]
            if args.log:
                with open(args.log, 'w') as handle:
                    handle.write(proc.stdout + proc.stderr)
            walls.append(wall)
            floors.append(floor)
            print('round: playbook %.2f s, container start -> /health 200 %.2f s, ratio %.3f '
                  '(playbook start -> container start %.2f s, first 200 -> playbook exit %.2f s)' % (wall, floor, wall / floor, before, after))
        w, f = statistics.median(walls), statistics.median(floors)
        print('deploy-to-first-answer (median of %d): playbook %.2f s, floor %.2f s' % (args.rounds, w, f))
        print('ratio playbook / floor: %.3f  (goal <= 1.10); overhead %.2f s' % (w / f, w - f))
    finally:
        remove()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
