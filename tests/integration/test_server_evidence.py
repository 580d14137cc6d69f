"""vllm_server's evidence (tasks_from: evidence, as the role runs it after a deploy) against a running server: the vLLM
OpenAI double (tests/doubles/vllm_openai_double.py, its /metrics in vLLM's Prometheus format) on loopback, the node
this machine, its nvidia-smi the double replaying the real H100 capture widened to 2 GPUs. The evidence folder must hold
the plain nvidia-smi table as nvidia-smi prints it and the server's /metrics read while serving, beside the rest; the
sample chat request goes out at vllm_server_smoke_temperature."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

import badinput

ROOT = badinput.ROOT
DOUBLE = os.path.join(ROOT, 'tests', 'doubles', 'vllm_openai_double.py')
PLAYBOOK = """---
- name: The evidence of a running server
  hosts: gpu_nodes
  gather_facts: false
  vars_files: ['{defaults}']
  tasks:
    - name: Build the spec as the role does
      ansible.builtin.set_fact:
        _vllm_server_spec: "{{ lookup('inferops.gpu_inference.vllm_server_spec') }}"
        _vllm_server_needs_deploy: false
    - name: Save the evidence
      ansible.builtin.include_role:
        name: inferops.gpu_inference.vllm_server
        tasks_from: evidence.yml
""".replace('{defaults}', os.path.join(ROOT, 'roles', 'vllm_server', 'defaults', 'main.yml'))


@pytest.fixture()
def server(tmp_path):
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen([sys.executable, DOUBLE, 'serve', 'org/tiny', '--served-model-name', 'tiny', '--port', str(port)])
    url = 'http://127.0.0.1:%d' % port
    for dummy in range(100):
        try:
            urllib.request.urlopen(url + '/health', timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


def test_evidence_holds_the_nvidia_smi_table_and_the_metrics_while_serving(server, tmp_path):
    case_dir = str(tmp_path / 'case')
    os.makedirs(case_dir)
    evidence = str(tmp_path / 'evidence')
    (tmp_path / 'evidence.yml').write_text(PLAYBOOK)
    extra = dict(badinput.node_vars(case_dir), vllm_server_runtime='process', vllm_server_accelerator='nvidia',
                 vllm_server_port=server, vllm_server_model='org/tiny', vllm_server_served_model_name='tiny',
                 vllm_server_api_key='', vllm_server_evidence_dir=evidence, vllm_server_collect_env=False,
                 vllm_server_smoke_temperature=0.2)
    env = {'NVIDIA_SMI_DOUBLE_PROFILE': json.dumps({'gpus': 2})}
    rc, out = run_playbook(str(tmp_path / 'evidence.yml'), case_dir, extra, badinput.inventory(case_dir), env)
    assert rc == 0, out[-4000:]
    folder = os.path.join(evidence, 'node1')
    assert sorted(os.listdir(folder)) == sorted([
        'nvidia-smi.txt', 'nvidia-smi.json', 'metrics.txt', 'inspect.json', 'processes.txt', 'sample_response.json',
        'collect-env.txt', 'server-log-tail.txt', 'deployment.json'])
    table = open(os.path.join(folder, 'nvidia-smi.txt')).read()
    expected = subprocess.run([sys.executable, badinput.NVIDIA_SMI_DOUBLE], capture_output=True, text=True, check=True,
                              env=dict(os.environ, **env)).stdout
    assert table == expected  # the plain table, as nvidia-smi printed it
    assert '| NVIDIA-SMI 580.159.04' in table and '|   1  NVIDIA H100 80GB HBM3' in table
    metrics = open(os.path.join(folder, 'metrics.txt')).read()
    assert '# TYPE vllm:request_success_total counter' in metrics
    # Read after the sample chat request of the evidence (the health gate did not run here): one request served.
    assert 'vllm:request_success_total{engine="0",finished_reason="length",model_name="tiny"} 1.0' in metrics
    assert json.load(open(os.path.join(folder, 'sample_response.json')))['model'] == 'tiny'


def test_evidence_says_why_it_has_no_metrics(tmp_path):
    """Nothing listens: metrics.txt says why instead of failing the evidence."""
    case_dir = str(tmp_path / 'case')
    os.makedirs(case_dir)
    evidence = str(tmp_path / 'evidence')
    (tmp_path / 'evidence.yml').write_text(PLAYBOOK.replace('        tasks_from: evidence.yml\n', '        tasks_from: evidence.yml\n'
                                                            '      vars:\n        _vllm_server_wait: {sample_response: {}}\n'))
    extra = dict(badinput.node_vars(case_dir), vllm_server_runtime='process', vllm_server_accelerator='cpu', vllm_server_port=9,
                 vllm_server_api_key='', vllm_server_evidence_dir=evidence, vllm_server_collect_env=False)
    rc, out = run_playbook(str(tmp_path / 'evidence.yml'), case_dir, extra, badinput.inventory(case_dir))
    assert rc == 0, out[-4000:]
    folder = os.path.join(evidence, 'node1')
    assert open(os.path.join(folder, 'metrics.txt')).read() == 'not read: nothing answered at http://127.0.0.1:9\n'
    assert open(os.path.join(folder, 'nvidia-smi.txt')).read() == 'not read: vllm_server_accelerator is cpu\n'


COLLECT_ENV_DOUBLE = """#!/bin/sh
# A vllm executable whose collect-env prints what vLLM's does first, and counts its runs.
[ "$1" = collect-env ] || exit 2
echo run >> "$(dirname "$0")/collect-env.runs"
printf 'Collecting environment information...\\nvLLM Version                 : 0.32.0 (double)\\n'
"""


def test_collect_env_runs_when_the_server_starts_and_is_kept_while_it_runs_unchanged(server, tmp_path):
    """collect-env imports vLLM (tens of seconds of CPU on every node): the run that starts the server collects it; a run
    that leaves the server as it was keeps the one of its start (same fingerprint); a replace collects it again."""
    case_dir = str(tmp_path / 'case')
    os.makedirs(os.path.join(case_dir, 'venv', 'bin'))
    executable = os.path.join(case_dir, 'venv', 'bin', 'vllm')
    with open(executable, 'w') as handle:
        handle.write(COLLECT_ENV_DOUBLE)
    os.chmod(executable, 0o755)
    runs = os.path.join(case_dir, 'venv', 'bin', 'collect-env.runs')
    evidence = str(tmp_path / 'evidence')
    extra = dict(badinput.node_vars(case_dir), vllm_server_runtime='process', vllm_server_accelerator='cpu',
                 vllm_server_port=server, vllm_server_model='org/tiny', vllm_server_served_model_name='tiny',
                 vllm_server_api_key='', vllm_server_evidence_dir=evidence, vllm_server_collect_env=True)
    collected = os.path.join(evidence, 'node1', 'collect-env.txt')

    def evidence_run(deployed_now, **more):
        (tmp_path / 'evidence.yml').write_text(PLAYBOOK.replace('_vllm_server_needs_deploy: false',
                                                                '_vllm_server_needs_deploy: %s' % str(deployed_now).lower()))
        rc, out = run_playbook(str(tmp_path / 'evidence.yml'), case_dir, dict(extra, **more), badinput.inventory(case_dir))
        assert rc == 0, out[-4000:]
        with open(runs) as handle:
            count = len(handle.read().split())
        with open(collected) as handle:
            return count, handle.read(), json.load(open(os.path.join(evidence, 'node1', 'deployment.json')))

    count, text, deployment = evidence_run(True)
    assert count == 1 and 'vLLM Version                 : 0.32.0 (double)' in text and deployment['deployed_now'] is True
    count, kept, deployment = evidence_run(False)
    assert count == 1 and kept == text and deployment['deployed_now'] is False  # kept: the server runs as it started
    count, text, before = evidence_run(True)
    assert count == 2  # a replace collects it again
    # Evidence of a start under other settings (another fingerprint) is not this server's: collected again.
    count, text, deployment = evidence_run(False, vllm_server_max_model_len=512)
    assert count == 3 and deployment['fingerprint'] != before['fingerprint']
    # Off: no run, and the file says so.
    count, text, dummy = evidence_run(True, vllm_server_collect_env=False)
    assert count == 3 and text == 'not collected: vllm_server_collect_env is false\n'


def run_playbook(path, case_dir, extra, inventory_path, env=None):
    vars_file = os.path.join(case_dir, '..', 'vars.json')
    with open(vars_file, 'w') as handle:
        json.dump(extra, handle)
    full_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
                    ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'), **(env or {}))
    proc = subprocess.run([os.path.join(badinput.BIN, 'ansible-playbook'), '-i', inventory_path, '-e', '@' + vars_file, path],
                          capture_output=True, text=True, env=full_env, cwd=ROOT, check=False, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr
