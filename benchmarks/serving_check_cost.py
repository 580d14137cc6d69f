#!/usr/bin/env python
"""Benchmark: the serving check against one real vLLM server on this host, as the gateway runs it.

For a server already running here (a real GPU node: tests/device/vllm_on_gpu.sh runs it after its deploy stage;
the bed's demo server works too), the gateway's external check program (plugins/module_utils/serving_check.py, run
as a program with HAProxy's arguments, environment and a state folder of its own) is started every --inter
seconds, with the role's defaults, and judged as HAProxy judges it (two failures in a row: DOWN; two passes: UP):

  cost:        the server's process tree's CPU seconds over --window seconds, idle, without the check and with it
               (and with /metrics read but no probe: the split of the cost):
               the difference as a share of one core (goal < 1 %); the check program's own CPU (the gateway's cost
               per node) beside it;
  hang, idle:  the engine stopped (SIGSTOP to the process named VLLM::EngineCore: what a wedged GPU or a stuck
               collective leaves; /health keeps answering): seconds until DOWN; then SIGCONT: seconds until UP;
  hang, busy:  the same while a client sends one completion after the other.

  python benchmarks/serving_check_cost.py --url http://127.0.0.1:8000 --pid PID [--window 60] [--api-key-env VAR]

PID: the server's main process (the API server; EngineCore is its child). Prints figures and ratios to the goals.
"""
import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from urllib.request import ProxyHandler, Request, build_opener

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
PROGRAM = os.path.join(ROOT, 'plugins', 'module_utils', 'serving_check.py')
GOAL_CPU, GOAL_OUT_S = 0.01, 10.0
TICK = os.sysconf('SC_CLK_TCK')


def tree(pid):
    """pid and its descendants, from /proc."""
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry) as handle:
                    fields = handle.read().rsplit(')', 1)[1].split()
            except (IOError, OSError, IndexError):
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def cpu_seconds(pids):
    total = 0.0
    for pid in pids:
        try:
            with open('/proc/%d/stat' % pid) as handle:
                fields = handle.read().rsplit(')', 1)[1].split()
        except (IOError, OSError):
            continue
        total += (int(fields[11]) + int(fields[12])) / float(TICK)  # utime, stime
    return total


def engine_pid(pids):
    for pid in pids:
        try:
            with open('/proc/%d/cmdline' % pid, 'rb') as handle:
                if b'EngineCore' in handle.read():
                    return pid
        except (IOError, OSError):
            continue
    raise SystemExit('no EngineCore process under the server (%s)' % pids)


class Checker(object):
    """HAProxy's external check, as the gateway role sets it up: the program, every `inter` seconds."""

    def __init__(self, url, api_key, inter, probe_every=None):
        self.work = tempfile.mkdtemp(prefix='serving-check-cost-')
        self.config = os.path.join(self.work, 'config.json')
        settings = {'state_dir': self.work, 'api_keys': {'node': api_key or ''}}  # else the role's defaults
        if probe_every:
            settings['probe_every'] = probe_every
        with open(self.config, 'w') as handle:
            json.dump(settings, handle)
        address, port = url.split('//', 1)[1].rsplit(':', 1)
        # -S: as the role installs it (#!/usr/bin/python3 -S): no site-packages to scan at each start.
        self.argv = [sys.executable, '-S', PROGRAM, '0.0.0.0', '0', address.strip('[]'), port.rstrip('/')]
        self.env = dict(os.environ, HAPROXY_SERVER_NAME='node', INFEROPS_SERVING_CHECK_CONFIG=self.config)
        self.inter = inter

    def once(self):
        return subprocess.run(self.argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=60, check=False).returncode == 0

    def until(self, want_up, limit):
        """Seconds until HAProxy would mark the server UP (want_up) or DOWN: two results in a row."""
        start, row = time.time(), 0
        while time.time() - start < limit:
            tick = time.time()
            row = row + 1 if self.once() == want_up else 0
            if row >= 2:
                return time.time() - start
            time.sleep(max(0.0, self.inter - (time.time() - tick)))
        return None


def _get(url, api_key, data=None, timeout=30):
    headers = {'Content-Type': 'application/json'}
    if api_key:
        headers['Authorization'] = 'Bearer ' + api_key
    opener = build_opener(ProxyHandler({}))
    return opener.open(Request(url, data=data, headers=headers), timeout=timeout).read()


def client(url, api_key, model, stop):
    body = json.dumps({'model': model, 'prompt': 'Tell me a story', 'max_tokens': 64, 'temperature': 0}).encode()
    while not stop.is_set():
        try:
            _get(url + '/v1/completions', api_key, body, 120)
        except Exception:  # pylint: disable=broad-except
            time.sleep(0.2)


def measure(pid, window, checker):
    """The server tree's CPU share over `window` seconds, and the checker's own (None: no check)."""
    own0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, start = cpu_seconds(tree(pid)), time.time()
    while time.time() - start < window:
        tick = time.time()
        if checker:
            checker.once()
        time.sleep(max(0.0, (checker.inter if checker else 1.0) - (time.time() - tick)))
    elapsed = time.time() - start
    own1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ((cpu_seconds(tree(pid)) - before) / elapsed,
            (own1.ru_utime + own1.ru_stime - own0.ru_utime - own0.ru_stime) / elapsed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--url', required=True)
    parser.add_argument('--pid', type=int, required=True, help="the server's main process")
    parser.add_argument('--api-key-env', default='', help='the variable holding the API key, if the server has one')
    parser.add_argument('--window', type=int, default=60, help='seconds of each idle CPU measurement')
    parser.add_argument('--inter', type=float, default=1.0, help="HAProxy's check interval (the role's default 1 s)")
    parser.add_argument('--no-faults', action='store_true', help='measure the cost only')
    args = parser.parse_args()
    url = args.url.rstrip('/')
    api_key = os.environ.get(args.api_key_env) if args.api_key_env else None
    checker = Checker(url, api_key, args.inter)
    if not checker.once():
        raise SystemExit('the server does not pass the check before any fault: %s' % url)

    pids = tree(args.pid)
    time.sleep(5)
    base = measure(args.pid, args.window, None)[0]
    with_check, own = measure(args.pid, args.window, checker)
    # The same, with a probe at most once an hour: what reading /metrics every check costs alone.
    metrics_only = measure(args.pid, args.window, Checker(url, api_key, args.inter, probe_every=3600))[0]
    node = with_check - base
    print('server processes: %d (%s)' % (len(pids), url))
    print('%-40s %10s' % ('idle, %ds each' % args.window, '% of a core'))
    print('%-40s %10.2f' % ('server, no check', 100 * base))
    print('%-40s %10.2f' % ('server, checked every %gs' % args.inter, 100 * with_check))
    print('%-40s %10.2f   goal < %g %%, ratio %.2f' % ('the check on the node', 100 * node, 100 * GOAL_CPU, node / GOAL_CPU))
    print('%-40s %10.2f' % ('  of which /metrics read every check', 100 * (metrics_only - base)))
    print('%-40s %10.2f' % ('  of which the idle probes', 100 * (with_check - metrics_only)))
    print('%-40s %10.2f   (a process per check)' % ('the check program (gateway side)', 100 * own))
    if args.no_faults:
        return 0

    engine = engine_pid(tree(args.pid))
    rows = []
    for case in ('hang, idle', 'hang, busy'):
        stop = threading.Event()
        if case == 'hang, busy':
            model = json.loads(_get(url + '/v1/models', api_key))['data'][0]['id']
            threading.Thread(target=client, args=(url, api_key, model, stop), daemon=True).start()
            time.sleep(3)
        checker.until(True, 30)  # a settled state first
        os.kill(engine, signal.SIGSTOP)
        try:
            down = checker.until(False, 60)
        finally:
            os.kill(engine, signal.SIGCONT)
        up = checker.until(True, 60)
        stop.set()
        rows.append((case, down, up))
        time.sleep(5)
    print('%-12s %14s %14s' % ('fault', 'DOWN after s', 'UP again s'))
    for case, down, up in rows:
        print('%-12s %14s %14s   goal <= %gs, ratio %s' % (case, '%.1f' % down if down else 'never', '%.1f' % up if up else 'never',
                                                           GOAL_OUT_S, '%.2f' % (down / GOAL_OUT_S) if down else '-'))
    return 0 if all(row[1] and row[1] <= GOAL_OUT_S for row in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
