#!/usr/bin/env python
"""Benchmark: deploy-to-first-answer on a real GPU node (process runtime), against vLLM's own start -> /health floor.

Runs on the GPU machine itself (tests/device/vllm_on_gpu.sh calls it there, with a local
connection and the inventory inventories/gpu_local/hosts.yml). R times: takes the server away
(its supervisord program stopped and its program file removed, so that the role sees no
server), runs `ansible-playbook playbooks/deploy.yml` (validate, start, health gate, smoke
tests) and measures

  wall:  the playbook's wall time, from its start to its exit (the smoke tests answered);
  floor: the vLLM process's own start (its start time in /proc) to the first 200 from /health,
         polled every 50 ms by this script in a thread while the playbook runs.

Prints both, their ratio (goal <= 1.05 on an H100) and the overhead in seconds. The first round
starts with vLLM's compile cache as it is (cold on a fresh machine: torch.compile and CUDA graph
capture run in full); later rounds find it warm.

  python3 benchmarks/deploy_first_answer_gpu.py -i inventories/gpu_local/hosts.yml [--rounds 2] [--log FILE] [-e k=v ...]
"""
import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

from bedlib import ROOT, health_ok  # stdlib only: it runs on the GPU machine too


def vllm_pids():
    pids = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                    argv = handle.read().split(b'\0')
            except OSError:
                continue
            # `vllm serve ...`, or `python3 .../bin/vllm serve ...` (the script's interpreter)
            if any(argv[i].split(b'/')[-1] == b'vllm' and argv[i + 1] == b'serve' for i in range(min(2, len(argv) - 1))):
                pids.append(int(entry))
    return pids


def started(pid):
    """A process's start as a wall-clock time, from /proc (10 ms resolution)."""
    with open('/proc/%d/stat' % pid) as handle:
        ticks = int(handle.read().rsplit(')', 1)[1].split()[19])
    with open('/proc/stat') as handle:
        btime = next(int(line.split()[1]) for line in handle if line.startswith('btime'))
    return btime + ticks / os.sysconf('SC_CLK_TCK')


def watch(port, seen, stop):
    while not stop.is_set():
        if 'start' not in seen:
            pids = vllm_pids()
            if pids:
                seen['start'] = min(started(p) for p in pids)
        if 'start' in seen and health_ok(port):
            seen['first'] = time.time()
            return
        time.sleep(0.05)


def take_away(name, conf_dir):
    subprocess.run(['supervisorctl', 'stop', name], capture_output=True, check=False)
    subprocess.run(['rm', '-f', os.path.join(conf_dir, name + '.conf')], check=False)
    subprocess.run(['supervisorctl', 'update'], capture_output=True, check=False)
    for dummy in range(100):
        if not vllm_pids():
            return
        time.sleep(0.1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('-i', dest='inventory', default='inventories/gpu_local/hosts.yml')
    parser.add_argument('-e', dest='extra', action='append', default=[])
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--port', type=int, default=8000)
    parser.add_argument('--name', default='vllm')
    parser.add_argument('--conf-dir', default='/etc/supervisor/conf.d')
    parser.add_argument('--log', help="write each round's playbook output here (appended)")
    args = parser.parse_args()
    cmd = ['ansible-playbook', '-i', args.inventory, 'playbooks/deploy.yml']
    for extra in args.extra:
        cmd += ['-e', extra]
    walls, floors = [], []
    for number in range(1, args.rounds + 1):
        take_away(args.name, args.conf_dir)
        seen, stop = {}, threading.Event()
        thread = threading.Thread(target=watch, args=(args.port, seen, stop), daemon=True)
        t0 = time.time()
        thread.start()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
        wall = time.time() - t0
        stop.set()
        if args.log:
            with open(args.log, 'a') as handle:
                handle.write('===== round %d (rc %d)\n%s%s' % (number, proc.returncode, proc.stdout, proc.stderr))
        if proc.returncode != 0 or 'first' not in seen:
            sys.exit('deploy failed (rc %d):\n%s' % (proc.returncode, proc.stdout[-6000:] + proc.stderr[-2000:]))
        floor = seen['first'] - seen['start']
        walls.append(wall)
        floors.append(floor)
        print('round %d: playbook %.2f s, vLLM start -> /health 200 %.2f s, ratio %.3f '
              '(playbook start -> vLLM start %.2f s, first 200 -> playbook exit %.2f s)'
              % (number, wall, floor, wall / floor, seen['start'] - t0, t0 + wall - seen['first']), flush=True)
    w, f = statistics.median(walls), statistics.median(floors)
    print('deploy-to-first-answer (median of %d): playbook %.2f s, floor %.2f s' % (args.rounds, w, f))
    print('ratio playbook / floor: %.3f  (goal <= 1.05); overhead %.2f s' % (w / f, w - f))


if __name__ == '__main__':
    main()
