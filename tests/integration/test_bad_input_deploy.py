"""Bad input to playbooks/deploy.yml (role vllm_server): rejected before the node changes, the message naming the
variable, the value (secrets masked) and what is allowed; no secret printed, no command injected, no file written.
The harness and its tripwires: badinput.py."""
import os

import pytest

import badinput
from badinput import API_KEY, HF_TOKEN, PWNED, fill

P = '{case}/' + PWNED  # the injection canary's path, filled in per case

CASES = [
    # (id, settings, words the message must hold)
    # 1. names and paths that reach a shell, a command line or a folder
    # 0. a mistyped setting, which would be ignored without a word
    ('setting-typo', {'vllm_server_max_model_length': 4096},
     ['vllm_server_max_model_length is not a variable of the role vllm_server (did you mean vllm_server_max_model_len?)']),
    ('log-level-in-env', {'vllm_server_env': {'VLLM_LOGGING_LEVEL': 'DEBUG'}}, ['use vllm_server_log_level instead']),
    ('volume-relative', {'vllm_server_volumes': ['cache:/root/.cache/vllm']}, ['vllm_server_volumes item(s) "cache:/root/.cache/vllm"']),
    ('name-semicolon', {'vllm_server_name': 'vllm; touch ' + P}, ['vllm_server_name=', 'letters, digits']),
    ('name-semicolon-process', {'vllm_server_name': 'vllm;touch ' + P, 'vllm_server_runtime': 'process'},
     ['vllm_server_name=', 'starting with a letter or digit']),
    ('name-subshell', {'vllm_server_name': '$(touch ' + P + ')'}, ['vllm_server_name=']),
    ('name-dotdot', {'vllm_server_name': '../../x'}, ['vllm_server_name="../../x"']),
    ('name-slash', {'vllm_server_name': 'a/b'}, ['vllm_server_name="a/b"']),
    ('name-space', {'vllm_server_name': 'my server'}, ['vllm_server_name="my server"']),
    ('name-newline', {'vllm_server_name': 'vllm\nExecStartPre=/bin/touch ' + P}, ['vllm_server_name=']),
    ('name-dash', {'vllm_server_name': '-rm'}, ['vllm_server_name="-rm"']),
    ('name-empty', {'vllm_server_name': ''}, ['vllm_server_name=""']),
    ('name-too-long', {'vllm_server_name': 'x' * 64}, ['vllm_server_name=', '1 to 63']),
    ('base-dir-relative', {'vllm_server_base_dir': 'var/lib/vllm'}, ['vllm_server_base_dir="var/lib/vllm"', 'absolute path']),
    ('base-dir-dotdot', {'vllm_server_base_dir': '/tmp/../etc'}, ['vllm_server_base_dir="/tmp/../etc"', '.. parts']),
    ('hf-cache-space', {'vllm_server_hf_cache_dir': '/var/lib/hf cache'}, ['vllm_server_hf_cache_dir=', 'whitespace']),
    ('venv-newline', {'vllm_server_venv': '/opt/vllm\n/x'}, ['vllm_server_venv=']),
    ('model-dir-relative', {'vllm_server_model_dir': 'models'}, ['vllm_server_model_dir="models"']),
    ('supervisor-dir-dotdot', {'vllm_server_supervisor_conf_dir': '/etc/../tmp'}, ['vllm_server_supervisor_conf_dir=']),
    ('model-shell', {'vllm_server_model': 'org/model; touch ' + P}, ['vllm_server_model=', 'Hugging Face id']),
    ('model-newline', {'vllm_server_model': 'org/model\n--host=0.0.0.0'}, ['vllm_server_model=']),
    ('model-dotdot-path', {'vllm_server_model': '/models/../../etc'}, ['vllm_server_model=', '.. parts']),
    ('served-name-space', {'vllm_server_served_model_name': 'my model'}, ['vllm_server_served_model_name="my model"']),
    # 2. values that pass types but cannot work, or weaken security
    ('api-key-short', {'vllm_server_api_key': 'abcd'}, ['vllm_server_api_key (4 characters, not shown)', 'at least 16']),
    ('api-key-spaces', {'vllm_server_api_key': ' ' * 20}, ['vllm_server_api_key (20 characters, not shown)']),
    ('api-key-quote', {'vllm_server_api_key': API_KEY + "'x"}, ['vllm_server_api_key', 'quotes']),
    ('hf-token-newline', {'vllm_server_hf_token': HF_TOKEN + '\nx'}, ['vllm_server_hf_token', 'one line']),
    ('hf-token-space', {'vllm_server_hf_token': HF_TOKEN + ' x'}, ['vllm_server_hf_token', 'not shown']),
    ('quantization-unknown', {'vllm_server_quantization': 'awq4'}, ['vllm_server_quantization="awq4"', 'allowed: awq']),
    ('dtype-unknown', {'vllm_server_dtype': 'fp7'}, ['vllm_server_dtype="fp7"', 'bfloat16']),
    ('extra-args-host', {'vllm_server_extra_args': ['--host', '0.0.0.0']},
     ['vllm_server_extra_args sets --host', 'use vllm_server_bind_address']),
    ('extra-args-host-equals', {'vllm_server_extra_args': ['--host=0.0.0.0']}, ['vllm_server_extra_args sets --host']),
    ('extra-args-port', {'vllm_server_extra_args': ['--port', '9000']}, ['use vllm_server_port']),
    ('extra-args-api-key', {'vllm_server_extra_args': ['--api-key', 'x' * 20]}, ['use vllm_server_api_key']),
    ('extra-args-tp', {'vllm_server_extra_args': ['--tensor-parallel-size=4']}, ['use vllm_server_tensor_parallel_size']),
    ('extra-args-shell', {'vllm_server_extra_args': ['--seed', '1; touch ' + P]}, ['shell syntax', 'without a shell']),
    ('extra-args-subshell', {'vllm_server_extra_args': ['$(touch ' + P + ')']}, ['shell syntax']),
    ('extra-args-newline', {'vllm_server_extra_args': ['--seed\nExecStartPre=/bin/touch ' + P]}, ['control characters']),
    ('env-hf-token', {'vllm_server_env': {'HF_TOKEN': HF_TOKEN}}, ['vllm_server_env names HF_TOKEN', 'vllm_server_hf_token']),
    ('env-vllm-api-key', {'vllm_server_env': {'VLLM_API_KEY': API_KEY}}, ['VLLM_API_KEY', 'vllm_server_api_key']),
    ('env-aws-secret', {'vllm_server_env': {'AWS_SECRET_ACCESS_KEY': API_KEY}}, ['AWS_SECRET_ACCESS_KEY', 'look like secrets']),
    ('env-name-bad', {'vllm_server_env': {'MY VAR': '1'}}, ['vllm_server_env name(s) "MY VAR"']),
    ('env-value-newline', {'vllm_server_env': {'MY_VAR': '1\nExecStartPre=/bin/touch ' + P}},
     ['vllm_server_env value(s) of MY_VAR', 'control characters']),
    ('public-bind-no-key', {'vllm_server_bind_address': '0.0.0.0', 'vllm_server_api_key': ''},
     ['vllm_server_bind_address=0.0.0.0 is not loopback']),
    ('bind-address-junk', {'vllm_server_bind_address': '0.0.0.0; touch ' + P}, ['vllm_server_bind_address=', 'IP address']),
    ('gpus-duplicate', {'vllm_server_gpus': [0, 0]}, ['vllm_server_gpus=[0, 0]', 'twice']),
    ('gpus-negative', {'vllm_server_gpus': [-1]}, ['vllm_server_gpus=[-1]']),
    ('gpus-id-absent', {'vllm_server_gpus': [1, 2]}, ['vllm_server_gpus=[1, 2] asks for GPU(s) that node1 does not have',
                                                      'ids 0 to 1']),
    ('gpus-count-absent', {'vllm_server_gpus': 3}, ['vllm_server_gpus=3 asks for GPU(s)']),
    ('shm-size-junk', {'vllm_server_shm_size': '16g --privileged'}, ['vllm_server_shm_size="16g --privileged"']),
    ('pip-spec-shell', {'vllm_server_runtime': 'process', 'vllm_server_pip_spec': 'vllm; touch ' + P},
     ['vllm_server_pip_spec=', 'shell syntax']),
    ('tp-more-than-gpus', {'vllm_server_tensor_parallel_size': 4}, ['needs 4 GPU(s); nvidia-smi on node1 reports 2']),
    ('tp-zero', {'vllm_server_tensor_parallel_size': 0}, ['vllm_server_tensor_parallel_size=0']),
    ('port-zero', {'vllm_server_port': 0}, ['vllm_server_port=0', '1 to 65535']),
    ('port-text', {'vllm_server_port': 'eighty'}, ['vllm_server_port', 'int']),
    ('gmu-above-one', {'vllm_server_gpu_memory_utilization': 1.5}, ['vllm_server_gpu_memory_utilization=1.5']),
    ('image-latest', {'vllm_server_image': 'docker.io/vllm/vllm-openai:latest'}, ['vllm_server_image=', 'not :latest']),
    ('runtime-unknown', {'vllm_server_runtime': 'lxc'}, ['vllm_server_runtime', 'docker, podman, process']),
    ('health-timeout-zero', {'vllm_server_health_timeout': 0}, ['vllm_server_health_timeout=0']),
    ('gateway-unknown', {'vllm_server_gateways': ['gw-typo']}, ['vllm_server_gateways=', 'gw-typo']),
    # 3. checked too late before
    ('model-source-missing', {'vllm_server_model_source': '{case}/no-such-model'}, ['vllm_server_model_source=', 'not a folder']),
    # 4. a performance gate read only after the new server was up
    ('perf-gate-drop-above-one', {'vllm_server_perf_gate': {'scenarios': [{'name': 'a', 'num_prompts': 4}], 'reference': [],
                                                            'max_throughput_drop': 1.5}},
     ['vllm_server_perf_gate.max_throughput_drop=1.5 must be a fraction from 0 to below 1']),
    ('perf-gate-no-scenarios', {'vllm_server_perf_gate': {'reference': [], 'max_ttft_rise': 0.2}}, ['vllm_server_perf_gate.scenarios is empty']),
    ('perf-gate-no-limit', {'vllm_server_perf_gate': {'scenarios': [{'name': 'a', 'num_prompts': 4}], 'reference': []}},
     ['vllm_server_perf_gate needs max_throughput_drop or max_ttft_rise']),
]


@pytest.mark.parametrize('settings,words', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_deploy_rejects_before_any_change(tmp_path, settings, words):
    case_dir = str(tmp_path / 'case')
    os.makedirs(case_dir)
    extra = dict(badinput.node_vars(case_dir), **fill(settings, case_dir))
    before = badinput.containers()
    nvidia = {'NVIDIA_SMI_DOUBLE_PROFILE': '{"gpus": 2}'}
    rc, out = badinput.run_playbook('deploy.yml', case_dir, extra, badinput.inventory(case_dir), env=nvidia)
    badinput.check_rejected(rc, out, [fill(w, case_dir) for w in words], case_dir, before)


def test_the_battery_settings_pass_validation(tmp_path):
    """The counterpart: the harness's own settings pass validation, reach the node and meet the tripwire (the image
    that does not exist), so each case above fails for its own reason, not the harness's."""
    case_dir = str(tmp_path / 'case')
    os.makedirs(case_dir)
    rc, out = badinput.run_playbook('deploy.yml', case_dir, badinput.node_vars(case_dir), badinput.inventory(case_dir),
                                    env={'NVIDIA_SMI_DOUBLE_PROFILE': '{"gpus": 2}'})
    assert rc != 0 and 'tripwire-image-does-not-exist' in out, out[-4000:]
    assert 'TASK [inferops.gpu_inference.vllm_server : Validate the settings' in out and 'Invalid vllm_server settings' not in out
    assert [s for s in badinput.SECRETS if s in out] == []
    assert badinput.files_under(case_dir), 'the tripwire left no trace: the file check could not fail'
