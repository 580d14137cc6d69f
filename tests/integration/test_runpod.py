"""RunPod inventory plugin and runpod_pod module against the RunPod API test double.

tests/doubles/runpod_api_double.py serves the endpoints the collection uses as RunPod's API
reference describes them (bearer auth, JSON error bodies, 429 + Retry-After, pages), from
recorded pod bodies. Real ansible-inventory / ansible runs, the double on loopback.
"""
import json
import os
import subprocess
import sys
import threading

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'doubles'))
import runpod_api_double  # noqa: E402  pylint: disable=wrong-import-position
from badinput import plain  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.dirname(sys.executable)


@pytest.fixture()
def api(request):
    options = getattr(request, 'param', {})
    server = runpod_api_double.make_server(**options)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def env(api, token='test-token'):
    out = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
               RUNPOD_API_URL='http://127.0.0.1:%d/v1' % api.server_address[1], ANSIBLE_NOCOLOR='1')
    out.pop('RUNPOD_API_KEY', None)
    if token:
        out['RUNPOD_API_KEY'] = token
    return out


def inventory(api, tmp_path, extra='', token='test-token'):
    path = tmp_path / 'fleet.runpod.yml'
    path.write_text('plugin: inferops.gpu_inference.runpod\n' + extra)
    proc = subprocess.run([os.path.join(BIN, 'ansible-inventory'), '-i', str(path), '--list'],
                          capture_output=True, text=True, env=env(api, token), cwd=ROOT, timeout=120, check=False)
    return proc


def test_inventory_hosts_groups_and_vars(api, tmp_path):
    proc = inventory(api, tmp_path, 'keyed_groups:\n  - key: runpod_gpu_count | string\n    prefix: gpus\n'
                                    'compose:\n  vllm_server_tensor_parallel_size: runpod_gpu_count\n')
    assert proc.returncode == 0, proc.stderr
    inv = plain(json.loads(proc.stdout))
    hostvars = inv['_meta']['hostvars']
    assert hostvars, proc.stdout + proc.stderr
    assert sorted(hostvars) == ['vllm-h100-1', 'vllm-h100x2-1']  # the EXITED pod is left out
    assert sorted(inv['gpu_nodes']['hosts']) == ['vllm-h100-1', 'vllm-h100x2-1']
    h = hostvars['vllm-h100x2-1']
    assert (h['ansible_host'], h['ansible_port'], h['ansible_user']) == ('203.0.113.11', 10877, 'root')
    assert h['runpod_gpu_count'] == 2 and h['runpod_gpu_type'] == 'H100 SXM' and h['runpod_id'] == 'h8i9j0k1l2m3n4'
    assert h['vllm_server_tensor_parallel_size'] == 2
    assert inv['gpus_2']['hosts'] == ['vllm-h100x2-1']


@pytest.mark.parametrize('api', [{'page_size': 1, 'rate_limit_every': 3}], indirect=True)
def test_inventory_follows_pages_and_retries_429(api, tmp_path):
    proc = inventory(api, tmp_path, 'statuses: [RUNNING, EXITED]\n')
    assert proc.returncode == 0, proc.stderr
    assert sorted(plain(json.loads(proc.stdout))['_meta']['hostvars']) == ['scratch-l40s', 'vllm-h100-1', 'vllm-h100x2-1']
    log = api.state.log
    assert sum(1 for line in log if line.startswith('GET /v1/pods')) > 3  # 3 pages, plus the retried 429s


def test_inventory_bad_and_missing_token(api, tmp_path):
    bad = inventory(api, tmp_path, token='wrong-token')
    assert 'HTTP 401' in bad.stderr and 'RUNPOD_API_KEY' in bad.stderr and 'wrong-token' not in bad.stderr + bad.stdout
    missing = inventory(api, tmp_path, token=None)
    assert 'no RunPod API key' in missing.stderr


def test_inventory_cache(api, tmp_path):
    extra = 'cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\ncache_timeout: 300\n' % (tmp_path / 'cache')
    assert inventory(api, tmp_path, extra).returncode == 0
    before = len(api.state.log)
    again = inventory(api, tmp_path, extra)
    assert again.returncode == 0 and len(api.state.log) == before, 'the second read should come from the cache'


def pod(api, args, token='test-token', check=False):
    args = dict({'api_url': 'http://127.0.0.1:%d/v1' % api.server_address[1], 'poll_interval': 0.05}, **args)
    cmd = [os.path.join(BIN, 'ansible'), 'localhost', '-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=' + sys.executable,
           '-m', 'inferops.gpu_inference.runpod_pod', '-a', json.dumps(args)] + (['--check'] if check else [])
    e = dict(env(api, token), ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json')
    proc = subprocess.run(cmd, capture_output=True, text=True, env=e, cwd=ROOT, timeout=120, check=False)
    return json.loads(proc.stdout)['plays'][0]['tasks'][0]['hosts']['localhost']


CREATE = {'name': 'vllm-new', 'image': 'vllm/vllm-openai:v0.32.0', 'gpu_type': 'NVIDIA H100 80GB HBM3', 'gpu_count': 2,
          'docker_args': ['--model', 'm', '--tensor-parallel-size', '2'], 'secret_env': {'HF_TOKEN': 'hf_SecretValue42'}}


def test_pod_lifecycle_is_idempotent(api):
    created = pod(api, CREATE)
    assert created['changed'] and created['operation'] == 'created', created
    assert created['pod']['ssh_port'] and created['pod']['public_ip'] and created['pod']['gpu_count'] == 2
    assert 'hf_SecretValue42' not in json.dumps(created)
    assert pod(api, CREATE)['changed'] is False
    assert pod(api, dict(CREATE, state='stopped'))['operation'] == 'stopped'
    assert pod(api, dict(CREATE, state='stopped'))['changed'] is False
    resumed = pod(api, CREATE)
    assert resumed['operation'] == 'resumed' and resumed['pod']['status'] == 'RUNNING' and resumed['pod']['ssh_port']
    assert pod(api, {'name': 'vllm-new', 'state': 'absent'}, check=True)['changed'] is True
    assert pod(api, {'name': 'vllm-new', 'state': 'absent'})['operation'] == 'terminated'
    assert pod(api, {'name': 'vllm-new', 'state': 'absent'})['changed'] is False


def test_pod_bad_input_and_api_errors(api):
    unknown = pod(api, dict(CREATE, gpu_type='NVIDIA H900'))
    assert unknown['failed'] and 'HTTP 400' in unknown['msg'] and 'invalid gpuTypeIds' in unknown['msg'] and 'NVIDIA H200' in unknown['msg']
    missing = pod(api, {'name': 'x'})
    assert missing['failed'] and 'give image and gpu_type' in missing['msg']
    bad_token = pod(api, CREATE, token='nope')
    assert bad_token['failed'] and 'HTTP 401' in bad_token['msg'] and 'nope' not in json.dumps(bad_token)
    no_token = pod(api, CREATE, token=None)
    assert no_token['failed'] and 'RUNPOD_API_KEY' in no_token['msg']


@pytest.mark.parametrize('api', [{'fail_create': 'half-made'}], indirect=True)
def test_failed_create_leaves_nothing_half_made(api):
    out = pod(api, CREATE)
    assert out['failed'] and 'half-made pod' in out['msg'] and 'was terminated' in out['msg'], out
    live = [p for p in api.state.pods.values() if p['name'] == 'vllm-new' and p['desiredStatus'] != 'TERMINATED']
    assert live == []


@pytest.mark.parametrize('api', [{'provision_reads': 10 ** 6}], indirect=True)
def test_wait_times_out_clearly(api):
    out = pod(api, dict(CREATE, wait_timeout=1))
    assert out['failed'] and 'did not run with its ports mapped within 1 s' in out['msg'], out


def test_provision_and_teardown_playbooks(api):
    """playbooks/provision.yml and teardown.yml with provider=runpod: pods made, added to gpu_nodes, then terminated."""
    pods = [{'name': 'fleet-1', 'gpu_type': 'NVIDIA L40S', 'gpu_count': 1, 'wait_timeout': 60},
            {'name': 'fleet-2', 'gpu_type': 'NVIDIA H100 80GB HBM3', 'gpu_count': 2,
             'docker_args': ['--model', 'm', '--tensor-parallel-size', '2'], 'secret_env': {'HF_TOKEN': 'hf_FleetSecret7'}}]
    extra = {'provider': 'runpod', 'runpod_pods': pods, 'runpod_api_url': 'http://127.0.0.1:%d/v1' % api.server_address[1]}
    play = os.path.join(ROOT, 'tests', 'integration', 'provision_then_list.yml')

    def run(path):
        cmd = [os.path.join(BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=' + sys.executable,
               '-e', json.dumps(extra), path]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env(api), cwd=ROOT, timeout=300, check=False)
        return proc.returncode, proc.stdout + proc.stderr

    rc, out = run(play)
    assert rc == 0, out
    assert 'gpu_nodes: fleet-1, fleet-2' in out, out
    assert 'hf_FleetSecret7' not in out
    live = sorted(p['name'] for p in api.state.pods.values() if p['desiredStatus'] == 'RUNNING' and p['name'].startswith('fleet-'))
    assert live == ['fleet-1', 'fleet-2']
    rc, out = run(os.path.join(ROOT, 'playbooks', 'teardown.yml'))
    assert rc == 0, out
    assert [p['name'] for p in api.state.pods.values() if p['name'].startswith('fleet-') and p['desiredStatus'] != 'TERMINATED'] == []
