"""plugins/lookup/vllm_server_spec.py: the server a host's vllm_server settings would run, as role vllm_server's validate
step gets it (lookup('inferops.gpu_inference.vllm_server_spec'[, node=...])).

The lookup runs as Ansible runs it: a real DataLoader and Templar over the task's variables, which are the role's
defaults (roles/vllm_server/defaults/main.yml, loaded as Ansible loads a role's defaults: their templates resolved by
the lookup) plus a model and the inventory's variables. Covers: the spec with its fingerprint and no problems; templated
defaults following inventory variables; the problems of bad settings (and nothing else returned then); missing
variables named; and that no secret (vllm_server_api_key, vllm_server_hf_token), nor its hash, appears in anything
it returns.
"""
import hashlib
import json
import os

import pytest

from ansible.errors import AnsibleLookupError, AnsibleUndefinedVariable
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.inferops.gpu_inference.plugins.lookup.vllm_server_spec import LookupModule
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_spec
from unit_support import ROOT

DEFAULTS = os.path.join(ROOT, 'roles', 'vllm_server', 'defaults', 'main.yml')
MODEL = 'meta-llama/Llama-3.1-8B-Instruct'
API_KEY = 'sk-inferops-0123456789abcdef'
HF_TOKEN = 'hf_AbCdEfGhIjKlMnOpQrSt0123'
GROUPS = {'all': ['gpu-a', 'gpu-b', 'gw1'], 'ungrouped': [], 'gpu_nodes': ['gpu-a', 'gpu-b'], 'vllm_gateways': ['gw1']}


pytestmark = pytest.mark.usefixtures('collection_loader')


def load(loader, path):
    """A YAML file as the inventory's variables are loaded: its strings templates (2.19 marks them trusted; 2.18 trusts
    every string)."""
    try:
        return loader.load_from_file(path, trusted_as_template=True)
    except TypeError:  # ansible-core 2.18
        return loader.load_from_file(path)


def host_vars(tmp_path, yaml_text='', **values):
    """The task's variables: the role's defaults, a model and the inventory's groups, then variables of an inventory file
    (yaml_text: as group_vars are loaded, so its templates are templates) and plain values (as -e gives them)."""
    loader = DataLoader()
    variables = dict(load(loader, DEFAULTS))
    variables.update(vllm_server_model=MODEL, groups=GROUPS, inventory_hostname='gpu-a')
    if yaml_text:
        path = tmp_path / 'group_vars.yml'
        path.write_text(yaml_text)
        variables.update(load(loader, str(path)))
    variables.update(values)
    return variables


def lookup(variables, **kwargs):
    loader = DataLoader()
    result = LookupModule(loader=loader, templar=Templar(loader=loader, variables=variables)).run([], variables, **kwargs)
    assert isinstance(result, list) and len(result) == 1
    return result[0]


def spec_of(tmp_path, yaml_text='', **values):
    spec = lookup(host_vars(tmp_path, yaml_text, **values))
    assert spec['problems'] == [], spec['problems']
    return spec


def test_the_role_defaults_and_a_model_give_a_docker_server_with_a_fingerprint(tmp_path):
    spec = spec_of(tmp_path)
    assert len(spec['fingerprint']) == 64 and int(spec['fingerprint'], 16) >= 0
    assert spec['release'] == spec['fingerprint'][:12] and spec['release_dir'].endswith('/releases/' + spec['release'])
    # The defaults that are templates, resolved: docker on NVIDIA GPUs, the pinned GPU image.
    assert spec['runtime'] == 'docker' and spec['container'] is True and spec['process'] is None
    with open(DEFAULTS) as handle:
        assert 'vllm_server_image_gpu: %s\n' % spec['image'] in handle.read()
    assert spec['engine']['image'] == spec['image'] and spec['engine']['gpus'] == 'all' and spec['engine']['ipc'] == 'host'
    assert spec['engine']['ports'] == ['127.0.0.1:8000:8000']
    assert spec['argv'][0] == MODEL and '--served-model-name=Llama-3.1-8B-Instruct' in spec['argv']
    assert spec['model'] == {'ref': MODEL, 'name': 'Llama-3.1-8B-Instruct', 'staged': '', 'is_path': False}
    assert (spec['name'], spec['dir'], spec['local_url']) == ('vllm', '/var/lib/inferops/vllm/vllm', 'http://127.0.0.1:8000')
    assert spec['log_file'] == '/var/lib/inferops/vllm/vllm/logs/server.log' and spec['secret_files'] == []


def test_the_fingerprint_is_stable_and_follows_a_setting_that_changes_the_server(tmp_path):
    first = spec_of(tmp_path)
    assert spec_of(tmp_path)['fingerprint'] == first['fingerprint']
    longer = spec_of(tmp_path, vllm_server_max_model_len=8192)
    assert '--max-model-len=8192' in longer['argv'] and longer['fingerprint'] != first['fingerprint']
    # The health gate's timeout does not change what runs.
    assert spec_of(tmp_path, vllm_server_health_timeout=60)['fingerprint'] == first['fingerprint']


def test_the_templated_defaults_follow_the_inventory(tmp_path):
    pod = spec_of(tmp_path, inferops_runtime='process', vllm_server_port='8001', vllm_server_gpus=2, vllm_server_tensor_parallel_size='2')
    assert pod['runtime'] == 'process' and pod['container'] is False and pod['engine'] is None
    assert pod['image'] == 'vllm==0.32.0' and pod['process']['executable'] == '/opt/vllm/bin/vllm'
    assert '--port=8001' in pod['argv'] and '--tensor-parallel-size=2' in pod['argv'] and pod['local_url'] == 'http://127.0.0.1:8001'
    assert pod['env']['CUDA_VISIBLE_DEVICES'] == '0,1'
    assert 'fingerprint %s' % pod['fingerprint'] in pod['process']['files']['supervisor']
    cpu = spec_of(tmp_path, 'inferops_accelerator: cpu\n')
    assert cpu['image'].startswith('public.ecr.aws/') and cpu['engine']['gpus'] is None
    assert not [a for a in cpu['argv'] if a.startswith('--gpu-memory-utilization')]


def test_variables_of_an_inventory_file_are_templated(tmp_path):
    spec = spec_of(tmp_path, 'fleet_model: Qwen/Qwen2.5-0.5B-Instruct\nvllm_server_model: "{{ fleet_model }}"\n'
                             'vllm_server_served_model_name: "{{ fleet_model | lower | basename }}"\n')
    assert spec['argv'][:2] == ['Qwen/Qwen2.5-0.5B-Instruct', '--served-model-name=qwen2.5-0.5b-instruct']
    with pytest.raises(AnsibleUndefinedVariable, match='fleet_model'):
        lookup(host_vars(tmp_path, 'vllm_server_model: "{{ fleet_model }}"\n'))


def test_a_model_on_the_node_is_mounted_when_the_node_has_it(tmp_path):
    variables = host_vars(tmp_path, vllm_server_model='/models/llama-8b')
    without = lookup(variables)
    assert without['node_model_path'] == '/models/llama-8b' and '/models/llama-8b:/models/llama-8b:ro' not in without['engine']['volumes']
    there = lookup(variables, node={'model_on_node': True})
    assert there['problems'] == [] and '/models/llama-8b:/models/llama-8b:ro' in there['engine']['volumes']
    assert there['fingerprint'] != without['fingerprint']


def test_a_model_folder_on_the_controller_is_served_from_its_staged_path(tmp_path):
    folder = tmp_path / 'tiny-llama'
    folder.mkdir()
    (folder / 'config.json').write_text('{}')
    before = spec_of(tmp_path, vllm_server_model='', vllm_server_model_source=str(folder))
    assert before['model']['ref'] == '/var/lib/inferops/models/tiny-llama' and before['model']['name'] == 'tiny-llama'
    assert '/var/lib/inferops/models:/var/lib/inferops/models:ro' in before['engine']['volumes']
    (folder / 'config.json').write_text('{"changed": true}')
    assert spec_of(tmp_path, vllm_server_model='', vllm_server_model_source=str(folder))['fingerprint'] != before['fingerprint']


@pytest.mark.parametrize('values,problem', [
    ({'vllm_server_model': ''}, 'vllm_server_model is empty: give a Hugging Face id (org/name), a path on the node, or vllm_server_model_source'),
    ({'vllm_server_port': 70000}, 'vllm_server_port=70000 must be a port from 1 to 65535'),
    ({'vllm_server_gpu_memory_utilization': '1.5'}, 'vllm_server_gpu_memory_utilization=1.5 must be above 0 and at most 1'),
    ({'vllm_server_image': 'vllm/vllm-openai:latest'}, 'vllm_server_image=vllm/vllm-openai:latest must be a pinned image reference'),
    ({'vllm_server_bind_address': '0.0.0.0'}, 'vllm_server_bind_address=0.0.0.0 is not loopback and vllm_server_api_key is empty'),
    ({'vllm_server_tensor_parallel_size': 2, 'vllm_server_gpus': 1},
     'vllm_server_tensor_parallel_size x vllm_server_pipeline_parallel_size = 2 but vllm_server_gpus=1 gives only 1 GPU(s)'),
    ({'vllm_server_extra_args': ['--port=9000']}, 'vllm_server_extra_args sets --port, which vllm_server sets itself: use vllm_server_port instead'),
    ({'vllm_server_extra_args': ['--enforce-eager; reboot']}, 'vllm_server_extra_args item(s) "--enforce-eager; reboot" carry shell syntax'),
    ({'vllm_server_env': {'HF_TOKEN': 'x'}}, 'vllm_server_env names HF_TOKEN look like secrets'),
    ({'vllm_server_name': 'vllm server'}, 'vllm_server_name="vllm server" must be 1 to 63 letters'),
    ({'vllm_server_quantization': 'int3'}, 'vllm_server_quantization="int3" is not a quantization method of vLLM'),
    ({'vllm_server_gateways': ['gw1', 'gw9']}, 'vllm_server_gateways=["gw1", "gw9"] names host(s) not in the inventory: gw9'),
    ({'vllm_server_model_source': '/nonexistent/model'}, 'vllm_server_model_source="/nonexistent/model" is not a folder on the controller'),
    ({'vllm_server_perf_gate': {'scenarios': [], 'reference': [], 'max_ttft_rise': 0.2}},
     'vllm_server_perf_gate.scenarios is empty: the gate needs scenarios to run on the new server'),
])
def test_a_bad_setting_returns_only_its_problem_naming_the_variable(tmp_path, values, problem):
    result = lookup(host_vars(tmp_path, **values))
    assert list(result) == ['problems']  # no spec of settings that break a rule
    assert len(result['problems']) == 1 and result['problems'][0].startswith(problem), result['problems']


def test_every_problem_is_listed(tmp_path):
    result = lookup(host_vars(tmp_path, vllm_server_port=0, vllm_server_dtype='fp64', vllm_server_bind_address='::x',
                              vllm_server_allow_unauthenticated=True))
    assert [p.split('=')[0] for p in result['problems']] == ['vllm_server_port', 'vllm_server_dtype', 'vllm_server_bind_address']


def test_a_gateway_of_the_inventory_is_no_problem(tmp_path):
    assert spec_of(tmp_path, vllm_server_gateways=['gw1'])['problems'] == []


def test_missing_variables_are_named(tmp_path):
    variables = host_vars(tmp_path)
    del variables['vllm_server_port'], variables['vllm_server_hf_token']
    with pytest.raises(AnsibleLookupError) as info:
        lookup(variables)
    named = ', '.join(n for n in server_spec.SETTINGS if n in ('vllm_server_port', 'vllm_server_hf_token'))  # in SETTINGS' order
    assert str(info.value) == 'vllm_server_spec: %s not defined (the role vllm_server defines them)' % named
    assert 'vllm_server_port' in named and 'vllm_server_hf_token' in named
    with pytest.raises(AnsibleLookupError) as info:
        lookup({'vllm_server_model': MODEL})  # the role's defaults not loaded: every other setting is named
    assert str(info.value).startswith('vllm_server_spec: %s not defined' % ', '.join(n for n in server_spec.SETTINGS if n != 'vllm_server_model'))


def leaks(result, *secrets):
    text = json.dumps(result, sort_keys=True, default=str)
    return [s for s in secrets for form in (s, hashlib.sha256(s.encode()).hexdigest()) if form in text]


@pytest.mark.parametrize('values', [{}, {'inferops_runtime': 'process'}, {'vllm_server_runtime': 'podman'}],
                         ids=['docker', 'process', 'podman'])
def test_no_secret_appears_in_the_spec(tmp_path, values):
    spec = spec_of(tmp_path, vllm_server_api_key=API_KEY, vllm_server_hf_token=HF_TOKEN, vllm_server_bind_address='0.0.0.0', **values)
    assert spec['secret_files'] == ['hf_token', 'serve.yaml']
    assert spec['argv'][-2] == '--config' and spec['argv'][-1].endswith('/serve.yaml')
    assert spec['env']['HF_TOKEN_PATH'].endswith('/hf_token') and 'HF_TOKEN' not in spec['env']
    assert leaks(spec, API_KEY, HF_TOKEN) == []
    # ...yet the secrets are part of the fingerprint: a new key replaces the server.
    other = spec_of(tmp_path, vllm_server_api_key=API_KEY[::-1], vllm_server_hf_token=HF_TOKEN, vllm_server_bind_address='0.0.0.0', **values)
    assert other['fingerprint'] != spec['fingerprint'] and leaks(other, API_KEY[::-1]) == []


def test_no_secret_from_a_vault_like_variable_appears(tmp_path):
    spec = spec_of(tmp_path, 'vault_api_key: %s\nvllm_server_api_key: "{{ vault_api_key }}"\nvllm_server_hf_token: "{{ \'%s\' }}"\n'
                   % (API_KEY, HF_TOKEN), inferops_runtime='process')
    assert spec['secret_files'] == ['hf_token', 'serve.yaml'] and leaks(spec, API_KEY, HF_TOKEN) == []


@pytest.mark.parametrize('api_key,hf_token,lengths', [
    ('short-key', HF_TOKEN, ['vllm_server_api_key (9 characters, not shown) must be at least 16 characters']),
    (API_KEY + ' "quoted"', HF_TOKEN, ['vllm_server_api_key (37 characters, not shown)']),
    (API_KEY, 'hf_AbCdEf GhIj\n', ['vllm_server_hf_token (15 characters, not shown) must be a Hugging Face access token']),
])
def test_a_bad_secret_is_named_by_its_length_not_shown(tmp_path, api_key, hf_token, lengths):
    result = lookup(host_vars(tmp_path, vllm_server_api_key=api_key, vllm_server_hf_token=hf_token, vllm_server_bind_address='0.0.0.0'))
    assert [p[:len(w)] for p, w in zip(result['problems'], lengths)] == lengths and len(result['problems']) == len(lengths)
    assert leaks(result, api_key, hf_token) == []


def test_a_mistyped_setting_is_a_problem_naming_the_closest_one_and_outputs_are_not(tmp_path):
    found = lookup(host_vars(tmp_path, vllm_server_max_model_length=4096, vllm_server_result={'outcome': 'unchanged'}))['problems']
    assert found == ['vllm_server_max_model_length is not a variable of the role vllm_server (did you mean vllm_server_max_model_len?)']
