"""The bad-input battery's harness: one real ansible-playbook run per case, with canary secrets, a fresh folder that
every path of the run points into, and tripwires. A case passes when the run

* fails (exit code not 0) with a message holding the words the case names (whitespace folded);
* printed no canary secret, at -vvv;
* changed nothing: no file under the case's folder, no container, no write to the provider API double, and the
  injection canary file was not made (a payload tries to create it).

The node is this machine with a local connection (the inventory's gpu_nodes group), its nvidia-smi the test double
replaying the real H100 capture (widened to 2 GPUs). Settings that pass validation by mistake meet tripwires that
make the change visible instead of harmful: an image that does not exist (docker), a vLLM virtualenv that does not
exist and a pip spec that cannot install (process).
"""
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BIN = os.path.dirname(sys.executable)
NVIDIA_SMI_DOUBLE = os.path.join(ROOT, 'tests', 'doubles', 'nvidia_smi_double.py')

# Canary secrets: each case gets them in the variables meant for secrets; none may show up in any output.
API_KEY = 'sk-canary-api-key-4f1d2c3b'
HF_TOKEN = 'hf_CanaryHubToken7e6d5c4b'
PROVIDER_TOKEN = 'dop_v1_canary_provider_token_9a8b7c'
SECRETS = (API_KEY, HF_TOKEN, PROVIDER_TOKEN)
PWNED = 'pwned'  # the injection canary, a file name in the case's folder


def nvidia_smi(case_dir):
    """The nvidia-smi double as an executable named nvidia-smi, beside (not in) the case's folder."""
    folder = os.path.join(os.path.dirname(case_dir), 'bin')
    path = os.path.join(folder, 'nvidia-smi')
    if not os.path.exists(path):
        os.makedirs(folder)
        with open(path, 'w') as handle:
            handle.write('#!/bin/sh\nexec %s %s "$@"\n' % (sys.executable, NVIDIA_SMI_DOUBLE))
        os.chmod(path, 0o755)
    return path


def node_vars(case_dir):
    """vllm_server settings that pass validation, every path inside the case's folder; cases override some."""
    smi = nvidia_smi(case_dir)
    return {
        'vllm_server_runtime': 'docker',
        'vllm_server_image': 'inferops/tripwire-image-does-not-exist:1',
        'vllm_server_image_pull': 'never',
        'vllm_server_model': 'org/tiny-model',
        'vllm_server_port': 18999,
        'vllm_server_name': 'badinput',
        'vllm_server_base_dir': os.path.join(case_dir, 'base'),
        'vllm_server_hf_cache_dir': os.path.join(case_dir, 'hf-cache'),
        'vllm_server_model_dir': os.path.join(case_dir, 'models'),
        'vllm_server_venv': os.path.join(case_dir, 'venv'),
        'vllm_server_pip_spec': os.path.join(case_dir, 'no-such-wheel.whl'),
        'vllm_server_supervisor_conf_dir': os.path.join(case_dir, 'supervisor'),
        'vllm_server_process_manager': 'supervisor',
        'vllm_server_nvidia_smi': smi,
        'vllm_server_api_key': API_KEY,
        'vllm_server_hf_token': HF_TOKEN,
        'vllm_server_health_timeout': 5,
        'gpu_host_check_nvidia_smi': smi,
    }


def bench_vars(case_dir):
    """vllm_bench settings that pass validation (runner local, a vllm that does not exist: the tripwire)."""
    return {
        'vllm_bench_runner': 'local',
        'vllm_bench_vllm': os.path.join(case_dir, 'no-such-vllm'),
        'vllm_bench_base_url': 'http://127.0.0.1:18999',
        'vllm_bench_metrics_url': 'http://127.0.0.1:18999',
        'vllm_bench_model': 'tiny-model',
        'vllm_bench_tokenizer': 'org/tiny-model',
        'vllm_bench_api_key': API_KEY,
        'vllm_bench_result_dir': os.path.join(case_dir, 'bench'),
        'vllm_bench_sample_gpu': 'none',
        'vllm_bench_scenarios': [{'name': 'single', 'num_prompts': 1, 'request_rate': 'inf', 'input_len': 16, 'output_len': 4}],
    }


def inventory(case_dir, hostvars=None, groups=None):
    """A YAML inventory: node1 (this machine, local connection) in gpu_nodes, and the groups given."""
    host = dict({'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}, **(hostvars or {}))
    children = {'gpu_nodes': {'hosts': {'node1': host}}}
    local = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
    for name, hosts in (groups or {}).items():
        children[name] = {'hosts': dict((h, local) for h in hosts)}
    path = os.path.join(case_dir, '..', os.path.basename(case_dir) + '-inventory.json')
    with open(path, 'w') as handle:
        json.dump({'all': {'children': children}}, handle)
    return path


def plain(data):
    """ansible-inventory --list marks untrusted strings as {"__ansible_unsafe": value}."""
    if isinstance(data, dict):
        if list(data) == ['__ansible_unsafe']:
            return data['__ansible_unsafe']
        return dict((k, plain(v)) for k, v in data.items())
    if isinstance(data, list):
        return [plain(v) for v in data]
    return data


def fill(value, case_dir, results=''):
    """A case's settings with {case} (its folder) and {results} (a baseline file) filled in."""
    if isinstance(value, str):
        return value.replace('{case}', case_dir).replace('{results}', results)
    if isinstance(value, list):
        return [fill(v, case_dir, results) for v in value]
    if isinstance(value, dict):
        return dict((k, fill(v, case_dir, results)) for k, v in value.items())
    return value


def files_under(folder):
    found = []
    for top, dirs, files in os.walk(folder):
        found.extend(os.path.relpath(os.path.join(top, name), folder) for name in dirs + files)
    return sorted(found)


def containers(name='badinput'):
    """Names of the containers (all states) whose name holds ``name`` (the battery's server name; other tests' containers
    may come and go meanwhile), or None where no Docker engine answers."""
    try:
        proc = subprocess.run(['docker', 'ps', '-a', '--filter', 'name=' + name, '--format', '{{.Names}}'],
                              capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return sorted(proc.stdout.split()) if proc.returncode == 0 else None


def run_playbook(playbook, case_dir, extra, inventory_path, env=None, options=('-vvv',)):
    """Run a playbook of the collection; returns (rc, output)."""
    vars_file = os.path.join(case_dir, '..', os.path.basename(case_dir) + '-vars.json')
    with open(vars_file, 'w') as handle:
        json.dump(extra, handle)
    full_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
                    ANSIBLE_FORCE_COLOR='0', ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'),
                    INFEROPS_REPORT_DIR=os.path.join(case_dir, 'reports'),
                    PATH=BIN + os.pathsep + os.environ.get('PATH', ''))
    full_env.update(env or {})
    cmd = [os.path.join(BIN, 'ansible-playbook')] + list(options) + [
        '-i', inventory_path, '-e', '@' + vars_file, os.path.join(ROOT, 'playbooks', playbook)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=ROOT, check=False, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def check_rejected(rc, out, words, case_dir, before_containers, api_writes=()):
    """The assertions every case makes (see the module docstring)."""
    flat = ' '.join(out.split())
    assert rc != 0, 'the run succeeded:\n' + out[-4000:]
    assert 'Unexpected Exception' not in out, 'an internal error instead of a message:\n' + out[-4000:]
    for word in words:
        assert ' '.join(word.split()) in flat, 'expected %r in the output:\n%s' % (word, out[-4000:])
    leaked = [s for s in SECRETS if s in out]
    assert not leaked, 'a canary secret was printed (%d)' % len(leaked)
    assert not os.path.exists(os.path.join(case_dir, PWNED)), 'an injected command ran'
    written = [f for f in files_under(case_dir) if not f.startswith('reports')]
    assert written == [], 'files were written: %s' % written
    after = containers()
    assert before_containers is None or after == before_containers, 'containers changed: %s -> %s' % (before_containers, after)
    assert list(api_writes) == [], 'the provider API was written to: %s' % list(api_writes)
