"""Guide 004's job (bare metal: `docker-compose up -d` serving the model folder on port 8000, the curl, the load test at
concurrency 1 / 5 / 10 with its p50 / p95 latency, requests per minute, GPU utilisation and idle time and the idle
cost, `docker-compose down`) done with the collection as its page says: docs/guides/004-baremetal-compose.md, its
inventory read from the page itself (Ansible on the GPU machine, a local connection), then the page's commands:
preflight.yml, deploy.yml, the guide's curl, bench.yml, deploy.yml again (nothing changes), remove.yml.

What is real: Ansible, the roles, this machine's Docker engine, the vLLM CPU image serving a tiny Llama (the bed's),
`vllm bench serve` inside the serving container, the reports. The bed's substitutions, and only these: the model
folder is a copy of the bed's tiny Llama at a folder of the test's instead of /home/me/llm-project/model; the image
and the CPU build's settings (inventories/local/group_vars/gpu_nodes/cpu_bed.yml, less its model); nvidia-smi is the
test double (tests/doubles/nvidia_smi_double.py: one H100, 80 GB, driver 550) for the preflight, the deploy's GPU
count and the benchmark's sampling; the preflight does not ask the engine for the NVIDIA runtime (this bed's dockerd
gives containers GPUs through the runtime hook's double, which it does not list as a runtime; the host_setup
scenario puts the runtime in with setup.yml); the benchmark's output lengths are the page's."""
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import urllib.request

import pytest
import yaml

import badinput

pytestmark = pytest.mark.bed_images  # the bed's vLLM CPU image

ROOT = badinput.ROOT
PAGE = os.path.join(ROOT, 'docs', 'guides', '004-baremetal-compose.md')
CPU_BED = os.path.join(ROOT, 'inventories', 'local', 'group_vars', 'gpu_nodes', 'cpu_bed.yml')
GUIDE_MODEL = '/home/me/llm-project/model'
PORT = 8000  # the guide's


def page_inventory():
    """The first YAML block of the page: the inventory a user copies."""
    with open(PAGE) as handle:
        block = re.search(r'^```yaml\n(.*?)^```', handle.read(), re.M | re.S).group(1)
    return yaml.safe_load(block)


def docker(*args, check=True):
    return subprocess.run(['docker'] + list(args), capture_output=True, text=True, check=check)


def port_open(port):
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(('127.0.0.1', port)) == 0


@pytest.fixture
def phase1():
    """A work folder (the user's shell's), the model folder, the inventory; what the run leaves is removed after."""
    if os.geteuid() != 0 or docker('info', check=False).returncode != 0:
        pytest.skip('needs root and the bed\'s Docker engine')
    if port_open(PORT):
        pytest.fail('127.0.0.1:%d is taken (a make demo server left running?): guide 004 serves there' % PORT)
    for name in ('vllm', 'vllm-previous'):  # the role's default names, which the page keeps: removed after the test
        if docker('container', 'inspect', name, check=False).returncode == 0:
            pytest.fail('a container named %s exists on this engine: guide 004\'s server takes that name' % name)
    # The role's default folders, which the page keeps: removed after the test where it made them.
    fresh = [path for path in ('/var/lib/inferops',) + tuple('/var/lib/inferops/' + name for name in ('vllm', 'hf-cache', 'bench', 'models'))
             if not os.path.exists(path)]
    work = tempfile.mkdtemp(prefix='inferops-guide004-', dir='/var/tmp')
    try:
        yield setup(work)
    finally:
        run(work, 'remove.yml')
        docker('rm', '-f', 'vllm', 'vllm-previous', check=False)
        for path in fresh:
            shutil.rmtree(path, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)


def setup(work):
    """The model folder and the page's inventory with the bed's substitutions, in the user's folder."""
    with open(CPU_BED) as handle:
        bed = yaml.safe_load(handle)
    model = os.path.join(work, 'llm-project', 'model')
    holder = docker('create', bed['vllm_server_image'], 'true').stdout.strip()
    try:
        os.makedirs(os.path.dirname(model))
        docker('cp', '%s:%s' % (holder, bed['vllm_server_model']), model)
    finally:
        docker('rm', '-f', holder, check=False)
    inventory = page_inventory()
    node = inventory['all']['children']['gpu_nodes']
    settings = node['vars']
    assert settings['vllm_server_model'] == GUIDE_MODEL, 'the page changed: read it again'
    settings['vllm_server_model'] = model
    for name in ('vllm_server_model', 'vllm_server_served_model_name'):
        bed.pop(name)
    smi = badinput.nvidia_smi(os.path.join(work, 'case'))
    bed.update({'gpu_host_check_nvidia_smi': smi, 'vllm_server_nvidia_smi': smi, 'vllm_bench_nvidia_smi': smi,
                'gpu_host_check_container_engine': 'none'})
    # The bed's additions in a file of their own beside the page's inventory, as group_vars.
    os.makedirs(os.path.join(work, 'group_vars'))
    with open(os.path.join(work, 'group_vars', 'gpu_nodes.yml'), 'w') as handle:
        yaml.safe_dump(bed, handle)
    with open(os.path.join(work, 'inventory.yml'), 'w') as handle:
        yaml.safe_dump(inventory, handle)
    return {'work': work, 'model': model}


def run(work, playbook):
    """The page's command, from the user's folder: ansible-playbook -i inventory.yml playbooks/<playbook>."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1', PWD=work,
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'))
    env.pop('INFEROPS_REPORT_DIR', None)
    cmd = [os.path.join(os.path.dirname(badinput.sys.executable), 'ansible-playbook'), '-i', os.path.join(work, 'inventory.yml'),
           os.path.join(ROOT, 'playbooks', playbook)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work, timeout=900, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def read(path):
    with open(path) as handle:
        return handle.read()


def test_guide_004_with_the_collection(phase1):  # pylint: disable=redefined-outer-name,too-many-locals
    work, model = phase1['work'], phase1['model']
    reports = os.path.join(work, 'reports')

    # Was "the quick verification": the GPU (10 GB or more, driver 520 or newer) in the preflight's report.
    rc, out = run(work, 'preflight.yml')
    assert rc == 0, out[-4000:]
    report = read(os.path.join(reports, 'preflight-latest', 'report.md'))
    assert 'gpu_memory' in report and 'driver' in report, report

    # Was "docker-compose up -d": the folder served by path, mounted read-only, on the guide's port.
    rc, out = run(work, 'deploy.yml')
    assert rc == 0, out[-4000:]
    mounts = json.loads(docker('inspect', '--format', '{{json .Mounts}}', 'vllm').stdout)
    assert [m['RW'] for m in mounts if m['Source'] == model and m['Destination'] == model] == [False], mounts

    # The guide's curl, on the OpenAI API: its prompt, 150 tokens, the served name.
    request = urllib.request.Request('http://localhost:%d/v1/completions' % PORT, data=json.dumps({
        'model': 'llama-3.2-3b-instruct', 'prompt': 'Suggest a skincare routine for dry skin', 'max_tokens': 150,
        'temperature': 0.7}).encode(), headers={'Content-Type': 'application/json'})
    answer = json.load(urllib.request.urlopen(request, timeout=120))
    assert answer['model'] == 'llama-3.2-3b-instruct' and answer['choices'][0]['text'], answer
    assert urllib.request.urlopen('http://localhost:%d/health' % PORT, timeout=10).status == 200
    assert 'vllm:' in urllib.request.urlopen('http://localhost:%d/metrics' % PORT, timeout=10).read().decode()

    # "Model loaded successfully", its load time, GPU memory: the evidence.
    evidence = os.path.join(reports, 'evidence', 'phase1')
    deployment = json.loads(read(os.path.join(evidence, 'deployment.json')))
    assert any(s.get('after_s') is not None and 'startup complete' in s.get('stage', s.get('name', '')).lower()
               for s in deployment['stages']), deployment['stages']
    assert os.path.exists(os.path.join(evidence, 'nvidia-smi.json'))

    # Was load_test.py at concurrency 5, then 1 / 5 / 10, and nvidia-smi dmon: the page's four scenarios.
    rc, out = run(work, 'bench.yml')
    assert rc == 0, out[-4000:]
    bench = os.path.join(reports, 'bench-latest')
    # The guide's numbers, one row per run: results.csv (results.json holds the same, nested).
    with open(os.path.join(bench, 'results.csv')) as handle:
        rows = dict((row['scenario'], row) for row in csv.DictReader(handle))
    assert sorted(rows) == ['c1', 'c10', 'c5', 'load-c5'], sorted(rows)
    expected = {'load-c5': 50, 'c1': 20, 'c5': 20, 'c10': 20}
    for name, row in rows.items():
        # success rate: every request answered; latency p50 / p95 / p99; requests per second; GPU use and idle.
        assert int(row['completed']) == expected[name] and int(row['failed'] or 0) == 0, row
        for field in ('e2el_p50_ms', 'e2el_p95_ms', 'e2el_p99_ms', 'request_throughput_rps', 'gpu_util_mean_pct',
                      'gpu_idle_fraction', 'idle_cost_per_hour'):
            assert row[field] not in ('', None), (name, field, row)
        assert float(row['e2el_p50_ms']) <= float(row['e2el_p95_ms']) <= float(row['e2el_p99_ms']), row
        # The idle cost: the guide's $3.06 an hour times the run's idle share.
        assert abs(float(row['idle_cost_per_hour']) - 3.06 * float(row['gpu_idle_fraction'])) < 0.01, row
    records = json.loads(read(os.path.join(bench, 'results.json')))['records']
    assert sorted(r['scenario'] for r in records) == sorted(rows) and all(r['gpu'].get('util_mean_pct') is not None for r in records)
    summary = read(os.path.join(bench, 'summary.md'))
    for words in ('p95', 'req/min', 'GPU idle', 'idle $/h'):
        assert words in summary, (words, summary[:3000])
    assert 'concurrency' in read(os.path.join(bench, 'report.html')).lower()

    # The same settings again: nothing changes, the server keeps running.
    started = docker('inspect', '--format', '{{.State.StartedAt}}', 'vllm').stdout
    rc, out = run(work, 'deploy.yml')
    assert rc == 0 and re.search(r'phase1\s+: ok=\d+\s+changed=0 ', out), out[-3000:]
    assert docker('inspect', '--format', '{{.State.StartedAt}}', 'vllm').stdout == started

    # Was "docker-compose down": the server gone, the port closed, the model folder kept.
    rc, out = run(work, 'remove.yml')
    assert rc == 0, out[-3000:]
    assert docker('inspect', 'vllm', check=False).returncode != 0
    assert not port_open(PORT)
    assert os.path.exists(os.path.join(model, 'config.json'))
