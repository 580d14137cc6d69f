#!/usr/bin/env python
"""Benchmark: how fast a sick node leaves the gateway's rotation, what it costs the clients, what the check costs.

On the CPU bed: two real vLLM CPU servers behind the collection's gateway (role vllm_gateway, Debian's HAProxy in
the bed's gateway container, its serving check with the role's defaults: checks every second, two failures in a
row, a busy node must produce a token within 7 s, an idle one answer a one-token completion within 5 s, asked at
most every 2 s), and a real client sending completions through the gateway (tests/rollout/gateway_client.py,
--workers at a time). Per fault class, --rounds times, on node A:

  hang, busy:  vLLM's EngineCore stopped (SIGSTOP: what a wedged GPU or a stuck collective leaves) while the
               client runs; /health keeps answering 200;
  hang, idle:  the same with no client (the idle probe's path);
  death:       EngineCore killed (SIGKILL: the API server then exits; the container is not restarted here).

Prints per round the seconds from the fault to HAProxy marking the node DOWN (its admin socket polled every
0.1 s) and the requests the client lost in the round; the median per class and its ratio to the goal (10 s). Then
the check's cost while the fleet is idle (the case where it sends completions): CPU seconds used by the gateway
container and by the node containers over --window seconds with the serving check and with HAProxy's plain
`GET /health` check, the difference per node as a share of one core (goal < 1 %).

  gpu xid 79,  a GPU fault as each node's dcgm-exporter (its double, values set through a file) reports it, while
  gpu ecc:     the client runs: Xid 79 (fallen off the bus) as the GPU's last Xid, then 2 uncorrectable ECC errors;
               the engine keeps serving; the serving check reads the exporter (vllm_gateway_gpu_check); then the GPU
               reset (the exporter's values back to 0): seconds until UP.

  .venv/bin/python benchmarks/day2_faults.py [--rounds 3] [--window 30] [--workers 2]
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from bedlib import ansible_env, bed_server_argv, bed_server_vars, health_ok, remove_containers, setup, sh

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
LABEL = 'inferops.benchmark=day2_faults'
NODES = {'day2-a': ('inferops-day2-a', 18231), 'day2-b': ('inferops-day2-b', 18232)}
# Each node's dcgm-exporter: the double (tests/doubles), on this host, its values set through a faults file.
DCGM_PORTS = {'day2-a': 18233, 'day2-b': 18234}
GATEWAY, GATEWAY_PORT = 'inferops-day2-gw', 18230
GOAL_OUT_S, GOAL_CPU = 10.0, 0.01


def stat(sock_path, node):
    """The node's status in HAProxy (UP, DOWN, MAINT, 'UP 1/2', ...), from `show stat` on its admin socket."""
    conn = socket.socket(socket.AF_UNIX)
    conn.settimeout(2)
    try:
        conn.connect(sock_path)
        conn.sendall(b'show stat\n')
        text = b''.join(iter(lambda: conn.recv(65536), b'')).decode()
    finally:
        conn.close()
    for line in text.splitlines():
        fields = line.split(',')
        if len(fields) > 17 and fields[0] == 'vllm' and fields[1] == node:
            return fields[17]
    return 'absent'


def wait_for(sock_path, node, prefix, timeout, since):
    end = time.time() + timeout
    while time.time() < end:
        if stat(sock_path, node).startswith(prefix):
            return time.time() - since
        time.sleep(0.1)
    return None


def engine_pid(container):
    out = sh(['docker', 'top', container, '-eo', 'pid,args']).stdout
    for line in out.splitlines()[1:]:
        if 'EngineCore' in line:
            return int(line.split()[0])
    raise RuntimeError('no EngineCore process in %s' % container)


def cgroup_cpu_s(container):
    """CPU seconds the container's processes used (cgroup v1 cpuacct, else v2 cpu.stat)."""
    cid = sh(['docker', 'inspect', '--format', '{{.Id}}', container]).stdout.strip()
    for path in ('/sys/fs/cgroup/cpu,cpuacct/docker/%s/cpuacct.usage' % cid, '/sys/fs/cgroup/cpuacct/docker/%s/cpuacct.usage' % cid):
        if os.path.exists(path):
            with open(path) as handle:
                return int(handle.read()) / 1e9
    for path in ('/sys/fs/cgroup/system.slice/docker-%s.scope/cpu.stat' % cid, '/sys/fs/cgroup/docker/%s/cpu.stat' % cid):
        if os.path.exists(path):
            with open(path) as handle:
                return int(dict(line.split() for line in handle)['usage_usec']) / 1e6
    raise RuntimeError('no cgroup CPU account for %s' % container)


def start_server(container, port):
    sh(['docker', 'run', '-d', '--name', container, '--label', LABEL, '-p', '127.0.0.1:%d:8000' % port, '--shm-size', '1g',
        '-e', 'VLLM_CPU_OMP_THREADS_BIND=nobind'] + bed_server_argv())


def wait_health(port, timeout=300):
    end = time.time() + timeout
    while time.time() < end:
        if health_ok(port):
            return True
        time.sleep(1)
    return False


def gateway(workdir, serving_check):
    inventory = os.path.join(workdir, 'inventory.yml')
    hosts = dict((name, {'vllm_server_port': port, 'vllm_gateway_node_address': '127.0.0.1',
                         'gpu_host_check_dcgm_exporter_port': DCGM_PORTS[name]}) for name, (cont, port) in NODES.items())
    with open(inventory, 'w') as handle:
        json.dump({'all': {'children': {
            'gpu_nodes': {'hosts': hosts},
            'vllm_gateways': {'hosts': {'day2-gw': {
                'ansible_connection': 'community.docker.docker', 'ansible_host': GATEWAY,
                'ansible_python_interpreter': '/usr/bin/python3'}}}}}}, handle)
    run = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory,
                          os.path.join(ROOT, 'playbooks', 'gateway.yml'), '-e', 'vllm_gateway_listen_port=%d' % GATEWAY_PORT,
                          '-e', 'vllm_gateway_serving_check=%s' % str(serving_check).lower()],
                         env=ansible_env(INFEROPS_REPORT_DIR=os.path.join(workdir, 'reports')), capture_output=True, text=True, check=False)
    if run.returncode:
        sys.exit('gateway.yml failed:\n%s' % run.stdout[-3000:])


def client_lost(out):
    try:
        with open(out) as handle:
            return json.load(handle)['lost']
    except (OSError, ValueError, KeyError):
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--window', type=int, default=30, help='seconds of each idle CPU measurement')
    parser.add_argument('--workers', type=int, default=2, help="the client's requests in flight")
    args = parser.parse_args()
    setup()
    remove_containers(label=LABEL)
    workdir = tempfile.mkdtemp(prefix='inferops-day2-')
    sock_dir = os.path.join(workdir, 'haproxy')
    os.makedirs(sock_dir)
    sock_path = os.path.join(sock_dir, 'admin.sock')
    model = bed_server_vars()['vllm_server_served_model_name']
    client = None
    doubles = []
    try:
        for name, dcgm_port in DCGM_PORTS.items():
            open(os.path.join(workdir, 'dcgm-%s.json' % name), 'w').close()  # healthy
            doubles.append(subprocess.Popen([sys.executable, os.path.join(ROOT, 'tests', 'doubles', 'dcgm_exporter_double.py'),
                                             '--port', str(dcgm_port), '--gpus', '1', '--faults',
                                             os.path.join(workdir, 'dcgm-%s.json' % name)]))
        for container, port in NODES.values():
            start_server(container, port)
        sh(['docker', 'run', '-d', '--name', GATEWAY, '--label', LABEL, '--network', 'host', '-v', '%s:/run/haproxy' % sock_dir,
            'inferops/gateway:bookworm', 'sleep', 'infinity'])
        for container, port in NODES.values():
            if not wait_health(port):
                sys.exit('%s did not come up' % container)
        gateway(workdir, serving_check=True)
        for node in NODES:
            if wait_for(sock_path, node, 'UP', 30, time.time()) is None:
                sys.exit('%s is not UP in the gateway' % node)
        node, (container, port) = 'day2-a', NODES['day2-a']
        results = {}

        def start_client():
            stop, out = os.path.join(workdir, 'client.stop'), os.path.join(workdir, 'client.json')
            if os.path.exists(stop):
                os.remove(stop)
            proc = subprocess.Popen([sys.executable, os.path.join(ROOT, 'tests', 'rollout', 'gateway_client.py'),
                                     '--url', 'http://127.0.0.1:%d' % GATEWAY_PORT, '--model', model, '--stop', stop,
                                     '--out', out, '--workers', str(args.workers), '--pause', '0.05', '--timeout', '60'])
            time.sleep(3)
            return proc, stop, out

        def stop_client(proc, stop):
            open(stop, 'w').close()
            proc.wait(timeout=90)

        for name, busy in (('hang, busy', True), ('hang, idle', False)):
            rounds = []
            client = start_client() if busy else None
            for dummy in range(args.rounds):
                pid = engine_pid(container)
                lost0 = client_lost(client[2]) if client else 0
                t0 = time.time()
                os.kill(pid, 19)  # SIGSTOP
                out_s = wait_for(sock_path, node, 'DOWN', 60, t0)
                os.kill(pid, 18)  # SIGCONT
                back_s = wait_for(sock_path, node, 'UP', 60, time.time())
                time.sleep(5)
                lost = (client_lost(client[2]) - lost0) if client else 0
                rounds.append({'out_s': out_s, 'lost': lost, 'back_s': back_s})
                print('%-11s out of rotation after %s s, %d request(s) lost, back after %s s' % (
                    name, 'never' if out_s is None else '%.1f' % out_s, lost, back_s if back_s is None else '%.1f' % back_s), flush=True)
            if client:
                stop_client(client[0], client[1])
                client = None
            results[name] = rounds

        rounds = []
        client = start_client()
        for dummy in range(max(1, args.rounds - 1)):
            pid = engine_pid(container)
            lost0 = client_lost(client[2])
            t0 = time.time()
            os.kill(pid, 9)
            out_s = wait_for(sock_path, node, 'DOWN', 60, t0)
            time.sleep(5)
            lost = client_lost(client[2]) - lost0
            rounds.append({'out_s': out_s, 'lost': lost})
            print('%-11s out of rotation after %s s, %d request(s) lost' % (
                'death', 'never' if out_s is None else '%.1f' % out_s, lost), flush=True)
            subprocess.run(['docker', 'wait', container], capture_output=True, timeout=60, check=False)
            sh(['docker', 'start', container])
            if not wait_health(port) or wait_for(sock_path, node, 'UP', 60, time.time()) is None:
                sys.exit('%s did not come back' % container)
        stop_client(client[0], client[1])
        client = None
        results['death'] = rounds

        # A GPU fault, as the node's dcgm-exporter reports it (the serving check reads it): the engine keeps serving.
        client = start_client()
        for name, fault in (('gpu xid 79', {'DCGM_FI_DEV_XID_ERRORS': {'0': 79}}),
                            ('gpu ecc', {'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL': {'0': 2}})):
            rounds = []
            for dummy in range(args.rounds):
                lost0 = client_lost(client[2])
                t0 = time.time()
                with open(os.path.join(workdir, 'dcgm-%s.json' % node), 'w') as handle:
                    json.dump(fault, handle)
                out_s = wait_for(sock_path, node, 'DOWN', 60, t0)
                time.sleep(2)
                open(os.path.join(workdir, 'dcgm-%s.json' % node), 'w').close()  # the GPU reset
                back_s = wait_for(sock_path, node, 'UP', 60, time.time())
                time.sleep(3)
                lost = client_lost(client[2]) - lost0
                rounds.append({'out_s': out_s, 'lost': lost, 'back_s': back_s})
                print('%-11s out of rotation after %s s, %d request(s) lost, back after %s s' % (
                    name, 'never' if out_s is None else '%.1f' % out_s, lost, back_s if back_s is None else '%.1f' % back_s), flush=True)
            results[name] = rounds
        stop_client(client[0], client[1])
        client = None

        print('\nfault class   median out (s)   ratio to %g s   requests lost (sum)' % GOAL_OUT_S)
        for name, rounds in results.items():
            outs = [r['out_s'] for r in rounds if r['out_s'] is not None]
            med = statistics.median(outs) if outs else None
            print('%-13s %14s   %13s   %d of %d rounds%s' % (
                name, '-' if med is None else '%.1f' % med, '-' if med is None else '%.2f' % (med / GOAL_OUT_S),
                sum(r['lost'] for r in rounds), len(rounds), '' if len(outs) == len(rounds) else ' (some never left)'))

        # The check's cost, idle (probes are sent then), serving check against GET /health.
        containers = [GATEWAY] + [c for c, p in NODES.values()]
        cost = {}
        for serving_check in (True, False):
            gateway(workdir, serving_check)
            time.sleep(5)
            before = dict((c, cgroup_cpu_s(c)) for c in containers)
            t0 = time.time()
            time.sleep(args.window)
            elapsed = time.time() - t0
            cost[serving_check] = dict((c, (cgroup_cpu_s(c) - before[c]) / elapsed) for c in containers)
        gateway(workdir, serving_check=True)
        gw = (cost[True][GATEWAY] - cost[False][GATEWAY]) / len(NODES)
        node_share = statistics.mean(cost[True][c] - cost[False][c] for c, p in NODES.values())
        print('\nidle, share of one core   serving check   GET /health   the check per node')
        print('gateway (all nodes)       %12.2f%%   %10.2f%%   %15.2f%%' % (100 * cost[True][GATEWAY], 100 * cost[False][GATEWAY], 100 * gw))
        for c, p in NODES.values():
            print('%-24s  %12.2f%%   %10.2f%%   %15.2f%%' % (c, 100 * cost[True][c], 100 * cost[False][c], 100 * (cost[True][c] - cost[False][c])))
        print('the check per node: gateway %.2f%% + node %.2f%% of a core (goal < %g%%: ratio %.2f)' % (
            100 * gw, 100 * node_share, 100 * GOAL_CPU, (gw + node_share) / GOAL_CPU))
    finally:
        if client:
            stop_client(client[0], client[1])
        for double in doubles:
            double.terminate()
        remove_containers(label=LABEL)


if __name__ == '__main__':
    main()
