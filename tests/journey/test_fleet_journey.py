"""The fleet journey, as an ops team types it, over SSH, against nodes that providers just made.

provision.yml (2 DigitalOcean droplets, 2 RunPod pods) -> ansible-inventory --graph (the real
inventory plugins, inventories/fleet/) -> preflight.yml -> gateway.yml -> deploy.yml (Docker on
the droplets, a process under supervisord on the pods; the real vLLM CPU build) -> bench.yml (one
fleet report, 4 hosts) -> redeploy.yml with new settings and the canary's performance gate, through
the gateway, while a client sends completions through it (0 lost) -> capacity.yml on one droplet ->
teardown.yml -> no node left, the providers' state empty.

What stands in for what cannot exist here (each says so in its name):
- the provider APIs: tests/doubles/digitalocean_api_double.py and runpod_api_double.py, run with
  --node-image: a create starts a real container (tests/doubles/bed_nodes.py) with sshd, fresh
  host keys and the account's key, reported at its own loopback address (and, for pods, the
  ports Docker mapped); a delete removes it;
- the GPUs: each node's nvidia-smi is the test double replaying real H100 captures, mounted
  the way the NVIDIA container toolkit mounts the driver's;
- droplets drive this machine's Docker engine (its socket shared) instead of their own.
Everything else is what users run: the playbooks with the defaults, SSH with key auth, a
non-root user with become on the droplets, host keys accepted as inventories/fleet recommends.
The inventory is a copy of inventories/fleet/ with what a user edits: the gateway host, the
droplets' SSH user, the vLLM settings of the bed (CPU image, tiny model), the doubles' URLs.

Run: python -m pytest -s tests/journey (tests/run_all.sh's "journey" stage; about 15 minutes).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BIN = os.path.dirname(sys.executable)
DOUBLES = os.path.join(ROOT, 'tests', 'doubles')
sys.path.insert(0, DOUBLES)
import bed_nodes  # noqa: E402  pylint: disable=wrong-import-position
GATEWAY_ADDRESS, GATEWAY_PORT = '127.0.0.30', 18410
DROPLETS = ['journey-do1', 'journey-do2']
PODS = ['journey-pod1', 'journey-pod2']
DO_TOKEN, RUNPOD_TOKEN = 'do-journey-token', 'rp-journey-token'
API_KEY = 'sk-journey-0123456789abcdef'  # the servers' API key: searched for in every output at the end
HF_TOKEN = 'hf_JourneyMgmtToken0123456789'  # guide 000's token on the management host: searched for too
LABEL = 'inferops.bed.node'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def docker(*args):
    return bed_nodes.docker(*args, check=False)


def bed_containers():
    return sorted(docker('ps', '-a', '--filter', 'label=' + LABEL, '--format', '{{.Names}}').split())


def remove_bed():
    """The journey's nodes, its gateway host and what its droplets ran on the shared engine."""
    for name in bed_containers():
        bed_nodes.remove_node(name)
    for name in DROPLETS:
        bed_nodes.remove_node('inferops-droplet-' + name, name)


def get_json(url, token=API_KEY, timeout=10):
    req = urllib.request.Request(url, headers={'Authorization': 'Bearer ' + token} if token else {})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read().decode() or 'null')


def plain(value):
    """A value of `ansible-inventory --list` without its {"__ansible_unsafe": ...} wrapping."""
    if isinstance(value, dict):
        return plain(value['__ansible_unsafe']) if set(value) == {'__ansible_unsafe'} else dict((k, plain(v)) for k, v in value.items())
    return [plain(v) for v in value] if isinstance(value, list) else value


class Journey(object):
    """The user's shell: runs each command as typed, prints it with its time, keeps a log."""

    def __init__(self, work, runpod_url):
        self.work, self.times = work, []
        self.log = open(os.path.join(work, 'journey.log'), 'w')
        self.env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
                        ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
                        ANSIBLE_PRIVATE_KEY_FILE=os.path.join(work, 'id_ed25519'),
                        INFEROPS_REPORT_DIR=os.path.join(work, 'reports'),
                        DO_API_TOKEN=DO_TOKEN, RUNPOD_API_KEY=RUNPOD_TOKEN, RUNPOD_API_URL=runpod_url, VLLM_API_KEY=API_KEY,
                        HF_TOKEN=HF_TOKEN, PATH=BIN + os.pathsep + os.environ.get('PATH', ''))
        for key in ('DIGITALOCEAN_TOKEN', 'ANSIBLE_INVENTORY', 'ANSIBLE_HOST_KEY_CHECKING'):
            self.env.pop(key, None)

    def run(self, command, ok=True, timeout=1500):
        shown = command.replace(self.work + '/', '')
        print('\n$ %s' % shown, flush=True)
        t0 = time.time()
        proc = subprocess.run(command, shell=True, cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        took = time.time() - t0
        self.times.append((shown, took))
        out = proc.stdout + proc.stderr
        self.log.write('$ %s\n%s\n(rc %d, %.1f s)\n\n' % (shown, out, proc.returncode, took))
        self.log.flush()
        print('  -> rc %d in %.1f s' % (proc.returncode, took), flush=True)
        if ok and proc.returncode != 0:
            pytest.fail('%s failed (rc %d):\n%s' % (shown, proc.returncode, out[-6000:]))
        return out


@pytest.fixture(scope='module')
def bed(tmp_path_factory):
    work = str(tmp_path_factory.mktemp('journey'))
    leftovers = bed_containers()
    if leftovers:  # a run cut short (its machine stopped mid-journey) leaves its nodes, and its droplets' servers
        print('removing what an earlier journey left: %s' % ', '.join(leftovers), flush=True)
        remove_bed()
    assert bed_containers() == [], 'node containers left from an earlier run could not be removed'
    key = os.path.join(work, 'id_ed25519')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'journey', '-f', key], check=True)
    ports = {'do': free_port(), 'runpod': free_port()}
    logs = dict((name, open(os.path.join(work, '%s-double.log' % name), 'w')) for name in ports)
    doubles = [
        subprocess.Popen([sys.executable, os.path.join(DOUBLES, 'digitalocean_api_double.py'), '--port', str(ports['do']),
                          '--token', DO_TOKEN, '--node-image', 'inferops/droplet:bookworm', '--ssh-key', key + '.pub'],
                         stdout=logs['do'], stderr=subprocess.STDOUT),
        subprocess.Popen([sys.executable, os.path.join(DOUBLES, 'runpod_api_double.py'), '--port', str(ports['runpod']),
                          '--token', RUNPOD_TOKEN, '--node-image', 'inferops/pod:0.32.0', '--ssh-key', key + '.pub'],
                         stdout=logs['runpod'], stderr=subprocess.STDOUT)]
    # The team's gateway host (an existing machine, in the static part of the inventory).
    with open(key + '.pub') as handle:
        public = handle.read().strip()
    docker('run', '-d', '--name', 'inferops-journey-gateway', '--label', LABEL + '=journey', '--network', 'host',
           '--add-host', 'gateway1:' + GATEWAY_ADDRESS, '-e', 'SSH_LISTEN_ADDRESS=' + GATEWAY_ADDRESS, '-e', 'PUBLIC_KEY=' + public,
           'inferops/gateway-host:bookworm')
    bed_nodes.wait_for_port(GATEWAY_ADDRESS, 22)
    yield {'work': work, 'ports': ports, 'key': key}
    for proc in doubles:  # SIGTERM: each double removes the nodes it still has
        proc.send_signal(signal.SIGTERM)
    for proc in doubles:
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
    remove_bed()


def write_inventory(bed):
    """inventories/fleet/ as a user makes it theirs."""
    work, ports = bed['work'], bed['ports']
    inv = os.path.join(work, 'inventory')
    shutil.copytree(os.path.join(ROOT, 'inventories', 'fleet'), inv)
    # The doubles' URLs: the DigitalOcean plugin has no environment variable for it.
    with open(os.path.join(inv, 'digitalocean.yml'), 'a') as handle:
        handle.write('baseurl: http://127.0.0.1:%d/v2\n' % ports['do'])
    with open(os.path.join(inv, 'gateways.yml'), 'w') as handle:
        json.dump({'all': {'children': {'vllm_gateways': {'hosts': {'gateway1': {
            'ansible_host': GATEWAY_ADDRESS, 'ansible_user': 'root',
            'vllm_gateway_listen_address': GATEWAY_ADDRESS, 'vllm_gateway_listen_port': GATEWAY_PORT,
            # The serving check's bounds as this bed allows them: four CPU servers on two cores, three of them starting
            # at once while the canary serves the client alone, leave a healthy server seconds without a token (the
            # defaults, 7 s busy and 5 s idle, are for servers that own their GPUs; a hung node is Molecule rollout's).
            # And an idle node probed every 10 s, not 2: on this CPU build each one-token probe costs ~0.1 s of CPU and
            # leaves the engine's threads spinning after it (benchmarks/serving_check_cost.py: a third of a core per
            # idle node), which starved the servers enough for false verdicts (CI, stop 37: a request cut).
            'vllm_gateway_stall_seconds': 30, 'vllm_gateway_probe_timeout': 15, 'vllm_gateway_probe_every': 10}}}}}}, handle)
    with open(os.path.join(inv, 'group_vars', 'all.yml'), 'a') as handle:
        handle.write('inferops_known_hosts: %s/known_hosts\n' % work)
        handle.write('droplet_ssh_user: debian\n')
    # The fleet's vLLM settings, here the bed's (the CPU build, a tiny model made offline: their one
    # home is the local inventory's cpu_bed.yml), and what this fleet adds.
    with open(os.path.join(ROOT, 'inventories', 'local', 'group_vars', 'gpu_nodes', 'cpu_bed.yml')) as handle:
        settings = yaml.safe_load(handle)
    settings.update({
        # Droplets share one engine here: one container name each; bind mounts name host paths,
        # which the droplet shares.
        'vllm_server_name': 'vllm-{{ inventory_hostname }}',
        'vllm_server_base_dir': '/srv/inferops-bed/{{ inventory_hostname }}/vllm',
        'vllm_server_hf_cache_dir': '/srv/inferops-bed/{{ inventory_hostname }}/hf-cache',
        # Four CPU servers on two cores.
        'vllm_server_health_timeout': 600, 'vllm_server_env': {'VLLM_CPU_OMP_THREADS_BIND': 'nobind'},
        'vllm_server_smoke_tests': ['completion', 'chat'],
        # Nodes serve on a network address: an API key, from the environment (or Ansible Vault).
        'vllm_server_api_key': "{{ lookup('ansible.builtin.env', 'VLLM_API_KEY') }}",
        'vllm_bench_scenarios': [{'name': 'single', 'num_prompts': 2, 'request_rate': 'inf', 'input_len': 32, 'output_len': 8},
                                 {'name': 'burst4', 'num_prompts': 4, 'request_rate': 'inf', 'input_len': 32, 'output_len': 8}],
        'vllm_bench_sample_interval_ms': 500,
        # No dcgm-exporter on the bed's droplets (two would share 127.0.0.1:9400 here); Molecule's
        # preflight and bench scenarios check it against its double.
        'gpu_host_check_dcgm_exporter': False,
    })
    with open(os.path.join(inv, 'group_vars', 'gpu_nodes.yml'), 'w') as handle:
        json.dump(settings, handle, indent=1)
    # The pods are guide 001's (docs/guides/001-runpod-pod.md, its settings as written there): the memory share, the
    # hf_transfer switch, a streamed completion among the smoke tests, the guide's artifacts folder.
    with open(os.path.join(inv, 'group_vars', 'pods.yml'), 'a') as handle:
        handle.write(yaml.safe_dump({
            'vllm_server_gpu_memory_utilization': 0.6,
            'vllm_server_env': {'HF_HUB_ENABLE_HF_TRANSFER': '0', 'VLLM_CPU_OMP_THREADS_BIND': 'nobind'},
            'vllm_server_smoke_tests': ['completion', 'chat', 'stream'],
            'vllm_server_evidence_dir': os.path.join(work, 'artifacts', 'tier02-lite')}))
    fingerprint = subprocess.run(['ssh-keygen', '-E', 'md5', '-lf', bed['key'] + '.pub'], capture_output=True, text=True,
                                 check=True).stdout.split()[1].replace('MD5:', '')
    fleet = {
        'droplet_api_url': 'http://127.0.0.1:%d/v2' % ports['do'], 'droplet_ssh_timeout': 120,
        'droplet_list': [{'name': DROPLETS[0], 'size': 'gpu-h100x1-80gb', 'region': 'tor1', 'ssh_keys': [fingerprint]},
                         {'name': DROPLETS[1], 'size': 'gpu-h100x1-80gb', 'region': 'nyc2', 'ssh_keys': [fingerprint]}],
        'runpod_pods': [{'name': name, 'gpu_type': 'NVIDIA H100 80GB HBM3', 'image': 'inferops/pod:0.32.0', 'wait_timeout': 120}
                        for name in PODS],
    }
    with open(os.path.join(work, 'fleet.yml'), 'w') as handle:
        json.dump(fleet, handle, indent=1)
    return inv


def test_fleet_journey(bed):  # pylint: disable=redefined-outer-name,too-many-locals,too-many-statements
    work, ports = bed['work'], bed['ports']
    inv = write_inventory(bed)
    sh = Journey(work, 'http://127.0.0.1:%d/v1' % ports['runpod'])
    t_start = time.time()
    nodes = DROPLETS + PODS
    try:
        # 1. Provision: both providers, then the real inventory plugins see the nodes.
        for provider in ('digitalocean', 'runpod'):
            sh.run('ansible-playbook -i %s/ playbooks/provision.yml -e provider=%s -e @%s/fleet.yml' % (inv, provider, work))
        assert sorted(n for n in bed_containers() if 'journey-gateway' not in n) == sorted(
            ['inferops-droplet-' + n for n in DROPLETS] + ['inferops-pod-' + n for n in PODS])
        graph = sh.run('ansible-inventory -i %s/ --graph' % inv)
        print(graph)
        listing = json.loads(sh.run('ansible-inventory -i %s/ --list 2>/dev/null' % inv))
        groups = dict((name, sorted(body.get('hosts', []))) for name, body in listing.items() if isinstance(body, dict))
        assert groups['gpu_nodes'] == sorted(nodes), graph
        assert groups['droplets'] == DROPLETS and groups['pods'] == PODS, graph
        assert groups['size_gpu_h100x1_80gb'] == DROPLETS and groups['region_tor1'] == DROPLETS[:1], graph
        assert groups['gpu_H100_80GB_HBM3'] == PODS and groups['gpus_1'] == PODS, graph
        assert groups['vllm_gateways'] == ['gateway1'], graph
        hostvars = plain(listing['_meta']['hostvars'])
        for name in DROPLETS:
            assert hostvars[name]['inferops_runtime'] == 'docker' and hostvars[name]['ansible_host'].startswith('127.0.0.1')
        for name in PODS:
            assert hostvars[name]['inferops_runtime'] == 'process' and hostvars[name]['ansible_port'] != 22
        # Over SSH, as whom: a non-root user with become on the droplets, root on the pods.
        who = sh.run("ansible -i %s/ gpu_nodes -m ansible.builtin.command -a 'id -un' -o" % inv)
        assert who.count('| CHANGED |') == 4, who
        for name in DROPLETS:
            assert '%s | CHANGED | rc=0 | (stdout) root' % name in who, who  # become
        raw = sh.run("ansible -i %s/ droplets -m ansible.builtin.command -a whoami -e ansible_become=false -o" % inv)
        assert raw.count('(stdout) debian') == 2, raw
        with open(os.path.join(work, 'known_hosts')) as handle:
            known = handle.read()
        keys = [line.split()[-1] for line in known.splitlines() if line.strip()]
        assert len(keys) == 4 and len(set(keys)) == 4, known  # each node's own fresh key, accepted once

        # 2. Preflight, gateway, deploy.
        sh.run('ansible-playbook -i %s/ playbooks/preflight.yml' % inv)
        with open(os.path.join(work, 'reports', 'preflight-latest', 'report.json')) as handle:
            preflight = json.load(handle)
        assert sorted(preflight['hosts']) == sorted(nodes) and preflight['summary']['hosts_failing'] == [], preflight['summary']
        for name in nodes:  # the GPU each node was made with, through its nvidia-smi (the double)
            assert 'H100' in json.dumps(preflight['hosts'][name]), preflight['hosts'][name]
        sh.run('ansible-playbook -i %s/ playbooks/gateway.yml' % inv)
        sh.run('ansible-playbook -i %s/ playbooks/deploy.yml' % inv)
        for name in DROPLETS:  # Docker on the droplets: the server container, published on the droplet's address
            address = hostvars[name]['ansible_host']
            assert get_json('http://%s:8000/v1/models' % address)['data'][0]['id'] == 'tiny-llama'
        for name in PODS:  # a process under supervisord on the pods, reached at the mapped port
            address, mapped = hostvars[name]['ansible_host'], hostvars[name]['runpod_port_mappings']['8000']
            assert get_json('http://%s:%s/v1/models' % (address, mapped))['data'][0]['id'] == 'tiny-llama'
            tree = docker('exec', 'inferops-pod-' + name, 'ps', '-eo', 'pid,ppid,args')
            assert 'supervisord' in tree and 'vllm serve' in tree, tree
        for name in PODS:  # guide 001's checks: its settings in the running vLLM, its artifacts
            pid = docker('exec', 'inferops-pod-' + name, 'pgrep', '-f', '-o', 'vllm serve').strip()
            environ = docker('exec', 'inferops-pod-' + name, 'cat', '/proc/%s/environ' % pid).split('\0')
            args = docker('exec', 'inferops-pod-' + name, 'cat', '/proc/%s/cmdline' % pid).split('\0')
            assert 'HF_HUB_ENABLE_HF_TRANSFER=0' in environ and '--gpu-memory-utilization=0.6' in args, (environ, args)
            artifacts = os.path.join(work, 'artifacts', 'tier02-lite', name)
            with open(os.path.join(artifacts, 'deployment.json')) as handle:
                deployment = json.load(handle)
            assert all(deployment['smoke'][t]['ok'] for t in ('completion', 'chat', 'stream')), deployment['smoke']
            assert deployment['deployed_now'] and deployment['stages'], deployment  # the start-up stages, with their times
            with open(os.path.join(artifacts, 'sample_response.json')) as handle:
                assert json.load(handle)['choices'][0]['message']['content'], 'no sample answer'
            with open(os.path.join(artifacts, 'collect-env.txt')) as handle:
                assert 'vLLM Version' in handle.read(), 'collect-env: no vLLM version'  # the guide's import vllm
            with open(os.path.join(artifacts, 'processes.txt')) as handle:
                assert 'vllm serve' in handle.read(), 'processes.txt has no vllm serve'
            with open(os.path.join(artifacts, 'nvidia-smi.json')) as handle:
                assert 'H100' in handle.read(), 'nvidia-smi.json has no GPU'
        again = sh.run('ansible-playbook -i %s/ playbooks/deploy.yml' % inv)  # a second run changes nothing
        recap = [line for line in again.splitlines() if ' : ok=' in line]
        assert len(recap) == 4 and all(' changed=0 ' in line for line in recap), '\n'.join(recap)

        # 3. Benchmark: one fleet report with the four hosts.
        sh.run('ansible-playbook -i %s/ playbooks/bench.yml' % inv)
        reports = sorted(d for d in os.listdir(os.path.join(work, 'reports')) if d.startswith('bench-') and not d.endswith('-latest'))
        assert len(reports) == 1, reports
        with open(os.path.join(work, 'reports', reports[0], 'results.json')) as handle:
            results = json.load(handle)
        records = results['records'] if isinstance(results, dict) else results
        assert sorted(set(r['host'] for r in records)) == sorted(nodes), records
        assert all(r['results'].get('failed') == 0 and r['results'].get('completed', 0) > 0 for r in records), records
        # Cost per million output tokens at each node's price, as its provider's inventory gives it.
        assert all(r.get('cost_per_million_output_tokens', 0) > 0 for r in records), records

        # 3b. Guide 000's benchmark from a management droplet (docs/guides/000-digitalocean-droplet.md, its
        # inventory/mgmt.yml as written there, less the bed's substitutions: the CPU image, the tiny model as the
        # tokenizer, prompts that fit its 1024 tokens). The second droplet stands in for the management droplet (it
        # has Docker): a one-shot container there benchmarks the first droplet's server at its private address.
        target = 'http://%s:8000' % hostvars[DROPLETS[0]]['do_private_ip']
        with open(os.path.join(inv, 'mgmt.yml'), 'w') as handle:
            yaml.safe_dump({'all': {'children': {'bench_clients': {
                'hosts': {'mgmt': {'ansible_host': hostvars[DROPLETS[1]]['ansible_host'], 'ansible_user': 'debian',
                                   'ansible_become': True,
                                   # A droplet here shares this machine's Docker engine, and with it only its own folder:
                                   # the one-shot container's results and cache go where the droplet sees them too.
                                   'vllm_bench_result_dir': '/srv/inferops-bed/%s/bench' % DROPLETS[1],
                                   'vllm_bench_hf_cache_dir': '/srv/inferops-bed/%s/hf-cache' % DROPLETS[1]}},
                'vars': {'vllm_bench_runner': 'container', 'vllm_bench_image': 'inferops/vllm-cpu:0.32.0',
                         'vllm_bench_base_url': target, 'vllm_bench_metrics_url': target, 'vllm_bench_model': 'tiny-llama',
                         'vllm_bench_tokenizer': '/models/tiny-llama',
                         'vllm_bench_hf_token': "{{ lookup('ansible.builtin.env', 'HF_TOKEN') }}",
                         'vllm_bench_api_key': "{{ lookup('ansible.builtin.env', 'VLLM_API_KEY') }}",
                         'vllm_bench_backend': 'openai', 'vllm_bench_sample_gpu': 'none',
                         'vllm_bench_scenarios': [{'name': 'burst10-remote', 'num_prompts': 10, 'request_rate': 'inf',
                                                   'input_len': 500, 'output_len': 50}]}}}}}, handle)
        # At -vvv, where module arguments are shown: the token must be masked there too.
        remote = sh.run('ansible-playbook -vvv -i %s/ playbooks/bench.yml -e inferops_hosts=bench_clients' % inv)
        with open(os.path.join(work, 'reports', 'bench-latest', 'results.json')) as handle:
            records = json.load(handle)['records']
        assert [(r['host'], r['scenario'], r['results']['completed'], r['results']['failed']) for r in records] == [
            ('mgmt', 'burst10-remote', 10, 0)], records
        # The token reached the container through its environment only (docker run -e HF_TOKEN, named, not given).
        assert HF_TOKEN not in remote, 'the HF token was printed'

        # 4. Redeploy with new settings through the gateway while a client sends completions.
        stop = os.path.join(work, 'client.stop')
        client = subprocess.Popen([sys.executable, os.path.join(ROOT, 'tests', 'rollout', 'gateway_client.py'),
                                   '--url', 'http://%s:%d' % (GATEWAY_ADDRESS, GATEWAY_PORT), '--model', 'tiny-llama',
                                   '--workers', '1', '--pause', '0.5', '--stop', stop, '--out', os.path.join(work, 'client.json'),
                                   '--api-key-env', 'VLLM_API_KEY'], env=sh.env)
        time.sleep(5)
        # With the canary's performance gate, as users turn it on: the first node is the canary, measured after
        # its health gate against an old node measured before the rollout. Bounds wide for the bed's noise: on 2
        # cores with four CPU servers and a client, a canary just started measured 6.6x slower than the warm old
        # node (CI, stop 35); the gate's misses are Molecule rollout's fault f, not this journey's.
        # After the canary, the other three in one batch (redeploy_serial=3, as the README shows): the canary serves
        # the client alone meanwhile.
        out = sh.run('ansible-playbook -i %s/ playbooks/redeploy.yml -e vllm_server_max_model_len=512 -e redeploy_serial=3 '
                     '-e redeploy_max_throughput_drop=0.97 -e redeploy_max_ttft_rise=60 -e \'{"redeploy_perf_scenarios": '
                     '[{"name": "canary", "num_prompts": 32, "max_concurrency": 4, "request_rate": "inf", '
                     '"input_len": 64, "output_len": 16}]}\'' % inv)
        time.sleep(3)
        open(stop, 'w').close()
        client.wait(timeout=120)
        with open(os.path.join(work, 'client.json')) as handle:
            counted = json.load(handle)
        seen = json.dumps(dict((k, counted[k]) for k in ('sent', 'answered', 'lost', 'elapsed_s', 'errors')))
        print('client through the gateway during the redeploy: %s' % seen)
        # Why the gateway took a node out, if it did (the serving check's verdicts, kept on the gateway).
        verdicts = subprocess.run(['docker', 'exec', 'inferops-journey-gateway', 'cat', '/run/inferops-serving-check/failures.log'],
                                  capture_output=True, text=True, check=False).stdout
        print('the serving check\'s failed verdicts during the journey:\n%s' % (verdicts or '(none)'))
        seen += '\n' + verdicts[-3000:]
        assert counted['sent'] > 20 and counted['lost'] == 0, seen  # a string: pytest shortens a dict
        # Before it started, the plan said where each node's target model is: the pods' folder on the node, the
        # droplets' inside the image (vllm_server_plan.model).
        flat = ' '.join(out.split())
        assert flat.count('the model is on the node (folder /models/tiny-llama)') == 2, out[-3000:]
        assert flat.count('the model is in the image (/models/tiny-llama inside the image inferops/vllm-cpu:0.32.0)') == 2, out[-3000:]
        summaries = sorted(d for d in os.listdir(os.path.join(work, 'reports')) if d.startswith('redeploy-') and not d.endswith('-latest'))
        with open(os.path.join(work, 'reports', summaries[-1], 'summary.json')) as handle:
            summary = json.load(handle)
        outcomes = dict((n['host'], n['outcome']) for n in summary['nodes'])
        assert outcomes == dict((n, 'replaced') for n in nodes), out[-3000:]
        canary = [n for n in summary['nodes'] if (n.get('perf') or {}).get('rows')]
        assert len(canary) == 1 and canary[0]['host'] == summary['nodes'][0]['host'], json.dumps(summary['nodes'])[-3000:]
        assert all(row['ok'] for row in canary[0]['perf']['rows']) and 'old version, same run' in canary[0]['perf']['against'], canary
        for name in DROPLETS:
            address = hostvars[name]['ansible_host']
            assert get_json('http://%s:8000/v1/models' % address)['data'][0]['max_model_len'] == 512

        # 5. Capacity at an SLO on one droplet (the search's runs are real vllm bench serve runs over SSH).
        sh.run('ansible-playbook -i %s/ playbooks/capacity.yml -e inferops_hosts=%s -e vllm_bench_capacity_ttft_p99_ms=5000 '
               '-e vllm_bench_capacity_num_prompts=20 -e vllm_bench_capacity_input_len=64 -e vllm_bench_capacity_output_len=16 '
               '-e vllm_bench_capacity_max_runs=3' % (inv, DROPLETS[0]))
        with open(os.path.join(work, 'reports', 'capacity-latest', 'results.json')) as handle:
            capacity = json.load(handle)
        row = capacity['nodes'][0]
        assert row['host'] == DROPLETS[0] and 0 < len(capacity['searches'][DROPLETS[0]]) <= 3, capacity
        assert row['capacity'] and row['cost_per_million_output_tokens'] > 0, row

        # 6. Teardown: no node left, the providers' state empty.
        for provider in ('digitalocean', 'runpod'):
            sh.run('ansible-playbook -i %s/ playbooks/teardown.yml -e provider=%s -e @%s/fleet.yml' % (inv, provider, work))
        assert [n for n in bed_containers() if 'journey-gateway' not in n] == []
        assert get_json('http://127.0.0.1:%d/v2/droplets' % ports['do'], DO_TOKEN)['droplets'] == []
        assert get_json('http://127.0.0.1:%d/v1/pods' % ports['runpod'], RUNPOD_TOKEN) == []
        left = docker('ps', '-a', '--format', '{{.Names}}')
        assert not [n for n in left.split() if 'journey-do' in n], left  # what the droplets ran went with them
        for name in DROPLETS:
            assert not os.path.exists('/srv/inferops-bed/' + name)
        with open(os.path.join(work, 'journey.log')) as handle:
            logged = handle.read()
            assert API_KEY not in logged and HF_TOKEN not in logged, 'a secret was printed'
    finally:
        print('\n===== journey steps =====')
        for shown, took in sh.times:
            print('%7.1f s  %s' % (took, shown[:150]))
        print('%7.1f s  in all' % (time.time() - t_start))
        print('log: %s' % os.path.join(work, 'journey.log'))
