"""server_spec: one spec of what a vllm_server runs; every option of the role either changes its fingerprint or is
declared as not changing what runs; the process files say what the spec says; the rules name the variable."""
import os
import re
import shlex

import pytest
import yaml

from ansible_collections.inferops.gpu_inference.plugins.module_utils import model_files
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_group, server_spec
from unit_support import ROOT

ROLE = os.path.join(ROOT, 'roles', 'vllm_server')
with open(os.path.join(ROLE, 'meta', 'argument_specs.yml')) as _handle:
    OPTIONS = yaml.safe_load(_handle)['argument_specs']['main']['options']
with open(os.path.join(ROLE, 'defaults', 'main.yml')) as _handle:
    DEFAULTS = yaml.safe_load(_handle)
FINGERPRINT_LINE = re.compile(r'inferops\.gpu_inference\.vllm_server fingerprint ([0-9a-f]+)')  # as vllm_probe reads it


def settings(**changes):
    values = dict((name, DEFAULTS[name]) for name in server_spec.SETTINGS)
    # The defaults that are expressions, as the role resolves them without inventory variables.
    values.update(vllm_server_runtime='docker', vllm_server_accelerator='nvidia', vllm_server_image=DEFAULTS['vllm_server_image_gpu'],
                  vllm_server_model='org/model')
    values.update(changes)
    if 'vllm_server_cache_dir' not in changes:
        values['vllm_server_cache_dir'] = DEFAULTS['vllm_server_cache_dir'].replace('{{ vllm_server_base_dir }}', values['vllm_server_base_dir'])
    s = server_spec.settings_of(values)
    if s['vllm_server_nodes']:
        # As server_plan.read_settings sets them: the leader's own settings.
        s['_host'] = s['vllm_server_nodes'][0]
        s['_node'] = server_group.node_of(s, s['_host'], s['vllm_server_node_address'])
    return s


# A valid value other than the default, per option (each is also checked against the rules below).
OTHER = {
    'vllm_server_image': 'docker.io/vllm/vllm-openai:v0.31.0',
    'vllm_server_model': 'org/other-model',
    'vllm_server_model_dir': '/srv/models',
    'vllm_server_served_model_name': 'chat',
    'vllm_server_gpu_memory_utilization': 0.8,
    'vllm_server_dtype': 'bfloat16',
    'vllm_server_quantization': 'awq',
    'vllm_server_extra_args': ['--enforce-eager'],
    'vllm_server_bind_address': '0.0.0.0',
    'vllm_server_name': 'vllm-b',
    'vllm_server_base_dir': '/srv/inferops',
    'vllm_server_hf_cache_dir': '/srv/hf-cache',
    'vllm_server_hf_endpoint': 'https://hf-mirror.example.internal',
    'vllm_server_model_revision': '0123456789abcdef0123456789abcdef01234567',
    'vllm_server_env': {'VLLM_CPU_KVCACHE_SPACE': '2'},
    'vllm_server_gpus': [0],
    'vllm_server_shm_size': '8g',
    'vllm_server_ulimits': ['memlock=-1:-1'],
    'vllm_server_hf_token': 'hf_abcdefghijkl',
    'vllm_server_api_key': 'k' * 24,
    'vllm_server_venv': '/srv/venv',
    'vllm_server_pip_spec': 'vllm==0.31.0',
    'vllm_server_supervisor_conf_dir': '/srv/supervisor',
    'vllm_server_supervisor_dir': '/home/jovyan/inferops/supervisor',
    'vllm_server_gateways': ['gateway1'],
    'vllm_server_perf_gate': {'max_ttft_rise': 0.5},
    'vllm_server_volumes': ['/srv/datasets:/datasets:ro'],
    'vllm_server_cache_dir': '/srv/vllm-cache',
    'vllm_server_security_opts': ['label=disable'],
    'vllm_server_hooks_dir': '/usr/share/containers/oci/hooks.d',
    'vllm_server_nodes': ['gpu-a', 'gpu-c'],
    'vllm_server_node_address': '10.0.0.9',
    'vllm_server_collective_ifname': 'eth2',
}
# Options that change what runs only with another setting: the shared memory size without the host's IPC namespace;
# the settings of a server across nodes, in a group.
GROUP = {'vllm_server_nodes': ['gpu-a', 'gpu-b'], 'vllm_server_node_address': '10.0.0.1', 'vllm_server_collective_ifname': 'eth1',
         'vllm_server_bind_address': '0.0.0.0', 'vllm_server_pipeline_parallel_size': 2, 'vllm_server_gpus': 1,
         'vllm_server_api_key': 'k' * 24}
WITH = dict({'vllm_server_shm_size': {'vllm_server_ipc_host': False}},
            **dict((name, dict((k, v) for k, v in GROUP.items() if k != name))
                   for name in ('vllm_server_nodes', 'vllm_server_node_address', 'vllm_server_collective_ifname', 'vllm_server_master_port')))


def other_value(name, option, tmp_path):
    if name == 'vllm_server_model_source':
        folder = tmp_path / 'staged-model'
        folder.mkdir(exist_ok=True)
        (folder / 'config.json').write_text('{}')
        return str(folder)
    if name in OTHER:
        return OTHER[name]
    default = settings()[name] if name in server_spec.SETTINGS else DEFAULTS[name]
    if option.get('choices'):
        return [c for c in option['choices'] if c != default][0]
    if option['type'] == 'int':
        return int(default) + 1
    if option['type'] == 'bool':
        return not default
    raise AssertionError('no other value for %s: add one to OTHER' % name)


def fingerprints(tmp_path, **changes):
    out = {}
    for runtime in ('docker', 'podman', 'process'):
        s = settings(**dict({'vllm_server_runtime': runtime}, **changes))
        signature = server_spec.model_source_signature(model_files.listing(s['vllm_server_model_source']))
        out[runtime] = server_spec.build(s, signature)['fingerprint']
    return out


def test_every_option_is_read_by_the_spec_or_declared_as_not_the_server():
    assert set(server_spec.SETTINGS) <= set(OPTIONS)
    assert not set(server_spec.NOT_THE_SERVER) - set(OPTIONS)
    assert set(OPTIONS) <= set(server_spec.SETTINGS) | set(server_spec.NOT_THE_SERVER)


@pytest.mark.parametrize('name', sorted(OPTIONS))
def test_each_option_changes_the_fingerprint_or_is_declared_as_not_changing_the_server(name, tmp_path):
    if name in server_spec.NOT_THE_SERVER:
        if name in server_spec.SETTINGS and name != 'vllm_server_quantization_methods':
            assert fingerprints(tmp_path) == fingerprints(tmp_path, **{name: other_value(name, OPTIONS[name], tmp_path)}), name
        return
    value = other_value(name, OPTIONS[name], tmp_path)
    if name == 'vllm_server_runtime':
        assert len(set(fingerprints(tmp_path).values())) == 3
        return
    base, changed = fingerprints(tmp_path, **WITH.get(name, {})), fingerprints(tmp_path, **dict(WITH.get(name, {}), **{name: value}))
    assert any(base[r] != changed[r] for r in base), '%s=%r does not change the fingerprint' % (name, value)
    runtime = {'vllm_server_hooks_dir': 'podman', 'vllm_server_venv': 'process', 'vllm_server_pip_spec': 'process',
               'vllm_server_supervisor_dir': 'process'}.get(name, 'docker')
    changes = dict(WITH.get(name, {}), **{name: value, 'vllm_server_api_key': 'k' * 24, 'vllm_server_runtime': runtime})
    rule_problems = server_spec.problems(settings(**changes), ())
    assert not [p for p in rule_problems if name in p], rule_problems


def test_a_staged_folder_whose_files_changed_changes_the_fingerprint(tmp_path):
    folder = tmp_path / 'llama'
    folder.mkdir()
    (folder / 'model.safetensors').write_bytes(b'a' * 10)
    s = settings(vllm_server_model='', vllm_server_model_source=str(folder))
    before = server_spec.build(s, server_spec.model_source_signature(model_files.listing(str(folder))))
    (folder / 'model.safetensors').write_bytes(b'b' * 11)
    after = server_spec.build(s, server_spec.model_source_signature(model_files.listing(str(folder))))
    assert before['fingerprint'] != after['fingerprint']
    # Served by its path on the node, mounted read-only.
    assert before['argv'][0] == '/var/lib/inferops/models/llama'
    assert '/var/lib/inferops/models:/var/lib/inferops/models:ro' in before['engine']['volumes']


def test_no_secret_value_in_the_spec():
    spec = server_spec.build(settings(vllm_server_api_key='sk-' + 'x' * 30, vllm_server_hf_token='hf_' + 'y' * 30))
    text = repr(spec)
    assert 'x' * 30 not in text and 'y' * 30 not in text
    assert spec['secret_files'] == ['hf_token', 'serve.yaml']
    assert spec['env']['HF_TOKEN_PATH'] == '/run/secrets/inferops-vllm/hf_token'
    assert spec['argv'][-2:] == ['--config', '/run/secrets/inferops-vllm/serve.yaml']


def test_docker_podman_and_process_get_their_gpus():
    assert server_spec.build(settings(vllm_server_gpus=[0, 1]))['engine']['gpus'] == '"device=0,1"'
    assert server_spec.build(settings(vllm_server_gpus=2))['engine']['gpus'] == '2'
    podman = server_spec.build(settings(vllm_server_runtime='podman', vllm_server_gpus=2))
    assert podman['engine']['devices'] == ['nvidia.com/gpu=0', 'nvidia.com/gpu=1'] and podman['engine']['network'] == 'host'
    process = server_spec.build(settings(vllm_server_runtime='process', vllm_server_gpus=[1]))
    assert process['env']['CUDA_VISIBLE_DEVICES'] == '1' and process['engine'] is None
    cpu = server_spec.build(settings(vllm_server_accelerator='cpu'))
    assert cpu['engine']['gpus'] is None and not [a for a in cpu['argv'] if a.startswith('--gpu-memory')]


@pytest.mark.parametrize('manager', ['supervisor', 'systemd'])
def test_process_files_run_the_specs_argv_and_environment(manager):
    env = {'A_PERCENT': '50%', 'BACKSLASH': 'a\\b', 'COMMA': 'x, y'}
    spec = server_spec.build(settings(vllm_server_runtime='process', vllm_server_env=env, vllm_server_extra_args=['--chat-template=a b']))
    text = spec['process']['files'][manager]
    assert FINGERPRINT_LINE.search(text).group(1) == spec['fingerprint']
    assert 'served-model model\n' in text
    line = [ln for ln in text.splitlines() if ln.startswith('command=' if manager == 'supervisor' else 'ExecStart=')][0]
    argv = shlex.split(line.split('=', 1)[1].replace('%%', '%'))
    assert argv == ['/opt/vllm/bin/vllm', 'serve'] + spec['argv']
    env_line = [ln for ln in text.splitlines() if ln.startswith('environment=')]
    if manager == 'supervisor':
        # As supervisord reads it: %-expansion, then its own key="value" parser.
        from supervisor.datatypes import dict_of_key_value_pairs
        assert dict_of_key_value_pairs(env_line[0].split('=', 1)[1] % {}) == dict(spec['env'])
    else:
        assert 'Environment="A_PERCENT=50%%"' in text and 'Environment="BACKSLASH=a\\\\b"' in text
    assert spec['process']['unit_files'][manager] in ('/etc/supervisor/conf.d/vllm.conf', '/etc/systemd/system/vllm.service')


def test_a_double_quote_in_the_environment_of_a_process_is_refused():
    found = server_spec.problems(settings(vllm_server_runtime='process', vllm_server_env={'Q': 'say "hi"'}), ())
    assert found == ['vllm_server_env value(s) of Q carry a double quote, which supervisord cannot read in a program\'s environment '
                     '(vllm_server_runtime=process)']
    assert server_spec.problems(settings(vllm_server_env={'Q': 'say "hi"'}), ()) == []


@pytest.mark.parametrize('given, expected', [('--enforce-eager', ['--enforce-eager']), ('--a,--b', ['--a', '--b']), (None, [])])
def test_a_list_given_as_a_string_is_read_as_ansible_reads_it(given, expected):
    assert settings(vllm_server_extra_args=given)['vllm_server_extra_args'] == expected
    assert settings(vllm_server_env='A=1 B=2')['vllm_server_env'] == {'A': '1', 'B': '2'}


def test_gpu_uuids_are_device_ids_and_junk_is_named():
    uuid = 'GPU-5f8e2c1a-0b9d-4c3e-8a7f-1d2e3f4a5b6c'
    assert server_spec.problems(settings(vllm_server_gpus=[uuid]), ()) == []
    assert server_spec.build(settings(vllm_server_gpus=[uuid]))['engine']['gpus'] == '"device=%s"' % uuid
    found = server_spec.problems(settings(vllm_server_gpus=['gpu0', None]), ())
    assert found == ['vllm_server_gpus=["gpu0", null]: "gpu0", null must be device indexes (0, 1, ...) or GPU/MIG UUIDs (GPU-..., MIG-...)']


def test_rules_name_the_variable_the_value_and_what_is_allowed(tmp_path):
    found = server_spec.problems(settings(
        vllm_server_port=70000, vllm_server_extra_args=['--port=9', 'a;b'], vllm_server_env={'MY_TOKEN': 'x'},
        vllm_server_tensor_parallel_size=4, vllm_server_gpus=[0, 0], vllm_server_bind_address='0.0.0.0',
        vllm_server_image='vllm/vllm-openai:latest', vllm_server_gateways=['gw9'], vllm_server_model_source=str(tmp_path / 'none')),
        inventory_hosts=['node1'])
    text = '\n'.join(found)
    for expected in ('vllm_server_port=70000 must be a port from 1 to 65535', 'sets --port, which vllm_server sets itself: use vllm_server_port',
                     '"a;b" carry shell syntax', 'vllm_server_env names MY_TOKEN look like secrets',
                     '= 4 but vllm_server_gpus=[0, 0] gives only 2 GPU(s)', 'lists a device id twice',
                     'vllm_server_bind_address=0.0.0.0 is not loopback', 'vllm_server_image=vllm/vllm-openai:latest must be a pinned',
                     'names host(s) not in the inventory: gw9', 'is not a folder on the controller'):
        assert expected in text, (expected, found)
    assert server_spec.problems(settings(), ()) == []


def test_settings_given_as_strings_build_the_same_server():
    assert (server_spec.build(settings(vllm_server_port='8000', vllm_server_ipc_host='true', vllm_server_max_model_len='0'))['fingerprint']
            == server_spec.build(settings())['fingerprint'])


def test_a_model_path_the_node_has_is_mounted_read_only_else_it_is_the_images():
    s = settings(vllm_server_model='/mnt/models/llama3-70b-awq/')
    assert server_spec.node_model_path(s) == '/mnt/models/llama3-70b-awq/'
    in_image = server_spec.build(s)
    on_node = server_spec.build(s, node={'model_on_node': True})
    assert '/mnt/models/llama3-70b-awq:/mnt/models/llama3-70b-awq:ro' in on_node['engine']['volumes']
    assert not [v for v in in_image['engine']['volumes'] if v.startswith('/mnt/')]
    assert in_image['fingerprint'] != on_node['fingerprint']
    # A hub id, a staged folder and a process have nothing to mount.
    assert server_spec.node_model_path(settings(vllm_server_model='org/model')) == ''
    assert server_spec.node_model_path(settings(vllm_server_runtime='process', vllm_server_model='/mnt/m')) == ''


def test_the_log_level_reaches_the_logging_configuration_or_the_process_environment():
    spec = server_spec.build(settings(vllm_server_log_level='DEBUG'))
    assert '"level": "DEBUG"' in spec['config']['logging.json'] and 'VLLM_LOGGING_LEVEL' not in spec['env']
    process = server_spec.build(settings(vllm_server_runtime='process', vllm_server_log_level='DEBUG'))
    assert process['env']['VLLM_LOGGING_LEVEL'] == 'DEBUG'
    found = server_spec.problems(settings(vllm_server_env={'VLLM_LOGGING_LEVEL': 'DEBUG'}), ())
    assert found == ['vllm_server_env sets VLLM_LOGGING_LEVEL, which vllm_server sets itself: use vllm_server_log_level instead']


def test_vllms_cache_is_kept_on_the_node_under_the_base_folder_by_default():
    spec = server_spec.build(settings(vllm_server_base_dir='/srv/inferops'))
    assert '/srv/inferops/vllm-cache:/root/.cache/vllm' in spec['engine']['volumes']
    assert spec['env']['VLLM_CACHE_ROOT'] == '/root/.cache/vllm' and '/srv/inferops/vllm-cache' in spec['dirs']
    process = server_spec.build(settings(vllm_server_runtime='process', vllm_server_cache_dir='/home/jovyan/.cache/vllm'))
    assert process['env']['VLLM_CACHE_ROOT'] == '/home/jovyan/.cache/vllm' and '/home/jovyan/.cache/vllm' in process['dirs']
    assert 'VLLM_CACHE_ROOT="/home/jovyan/.cache/vllm"' in process['process']['files']['supervisor']
    off = server_spec.build(settings(vllm_server_cache_dir=''))
    assert 'VLLM_CACHE_ROOT' not in off['env'] and not [v for v in off['engine']['volumes'] if '/root/.cache/vllm' in v]
    found = server_spec.problems(settings(vllm_server_volumes=['/srv/c:/root/.cache/vllm/', '/srv/h:/root/.cache/huggingface:ro',
                                                               '/srv/d:/datasets'], vllm_server_env={'VLLM_CACHE_ROOT': '/x'},
                                          vllm_server_cache_dir='relative/cache'), ())
    assert 'vllm_server_cache_dir="relative/cache" must be absolute paths without whitespace, control characters or .. parts' in found
    assert ('vllm_server_volumes item(s) "/srv/c:/root/.cache/vllm/", "/srv/h:/root/.cache/huggingface:ro" land on a folder '
            'vllm_server mounts itself') in ' '.join(found)
    assert 'vllm_server_env sets VLLM_CACHE_ROOT, which vllm_server sets from vllm_server_cache_dir: set that instead' in found


def test_more_mounts_security_options_and_hooks_reach_the_engine_and_are_checked():
    spec = server_spec.build(settings(vllm_server_runtime='podman', vllm_server_volumes=['/srv/cache:/root/.cache/vllm:rw'],
                                      vllm_server_security_opts=['label=disable'], vllm_server_hooks_dir='/etc/oci/hooks.d'))
    assert spec['engine']['volumes'][-1] == '/srv/cache:/root/.cache/vllm:rw'
    assert spec['engine']['security_opts'] == ['label=disable'] and spec['engine']['hooks_dir'] == '/etc/oci/hooks.d'
    bad = settings(vllm_server_volumes=['relative:/x', '/a:/b:ro', '/a b:/c'], vllm_server_security_opts=['label=disable; rm'],
                   vllm_server_hooks_dir='/h')
    found = '\n'.join(server_spec.problems(bad, ()))
    assert 'vllm_server_volumes item(s) "relative:/x", "/a b:/c" must be host_path:container_path' in found
    assert 'vllm_server_security_opts item(s) "label=disable; rm"' in found
    assert 'vllm_server_hooks_dir="/h" is podman\'s --hooks-dir' in found
    assert 'is for containers' in '\n'.join(server_spec.problems(settings(vllm_server_runtime='process', vllm_server_volumes=['/a:/b']), ()))


def test_a_supervisord_of_the_users_own_keeps_all_its_files_in_its_folder():
    own = '/home/jovyan/inferops/supervisor'
    spec = server_spec.build(settings(vllm_server_runtime='process', vllm_server_supervisor_dir=own + '/'), None)
    sup = spec['process']['supervisor']
    assert sup == {'config_file': own + '/supervisord.conf', 'socket': own + '/supervisor.sock', 'logfile': own + '/supervisord.log',
                   'pidfile': own + '/supervisord.pid', 'childlogdir': own, 'conf_dir': own + '/conf.d'}
    assert spec['process']['unit_files']['supervisor'] == own + '/conf.d/%s.conf' % spec['name']
    assert spec['process']['manager'] == 'supervisor'
    config = spec['process']['supervisord_config']
    for line in ('file=%s/supervisor.sock' % own, 'serverurl=unix://%s/supervisor.sock' % own, 'files = %s/conf.d/*.conf' % own,
                 'logfile=%s/supervisord.log' % own, 'pidfile=%s/supervisord.pid' % own):
        assert line in config.splitlines()
    assert '/var/run' not in config and '/etc/supervisor' not in config
    system = server_spec.build(settings(vllm_server_runtime='process'), None)['process']
    assert system['supervisor']['socket'] == '/var/run/supervisor.sock' and system['manager'] == 'auto'


@pytest.mark.parametrize('changes, words', [
    ({'vllm_server_runtime': 'docker'}, 'not vllm_server_runtime=docker'),
    ({'vllm_server_runtime': 'process', 'vllm_server_process_manager': 'systemd'}, 'not vllm_server_process_manager=systemd'),
    ({'vllm_server_runtime': 'process', 'vllm_server_supervisor_dir': 'relative/dir'}, 'vllm_server_supervisor_dir="relative/dir"'),
])
def test_a_supervisord_of_the_users_own_needs_the_process_runtime_and_an_absolute_folder(changes, words):
    found = server_spec.problems(settings(**dict({'vllm_server_supervisor_dir': '/home/u/sup'}, **changes)), ())
    assert [p for p in found if words in p], found


def test_the_staged_folders_signature_keeps_its_rows_so_that_no_running_server_is_replaced_by_an_upgrade(tmp_path):
    # One listing (model_files.listing) now serves the fingerprint and the model check; the rows hashed are those of
    # before: '<relative path> <size> <mtime ns>' in a walk with folders and names sorted, joined by newlines.
    folder = tmp_path / 'llama'
    (folder / 'sub').mkdir(parents=True)
    for rel, data in (('z.json', b'{}'), ('a.safetensors', b'w' * 7), ('sub/tok.json', b'[]')):
        (folder / rel).write_bytes(data)
    rows = []
    for root, dirs, files in os.walk(str(folder)):
        dirs.sort()
        for name in sorted(files):
            st = os.stat(os.path.join(root, name))
            rows.append('%s %d %d' % (os.path.relpath(os.path.join(root, name), str(folder)), st.st_size, st.st_mtime_ns))
    assert rows[0].startswith('a.safetensors 7 ') and rows[2].startswith('sub/tok.json 2 ')
    assert server_spec.model_source_signature(model_files.listing(str(folder))) == server_spec._sha256('\n'.join(rows))
    assert server_spec.model_source_signature(model_files.listing(str(tmp_path / 'none'))) == ''


def test_a_hub_revision_and_a_mirror_reach_the_server_and_are_checked():
    commit = '0123456789abcdef0123456789abcdef01234567'
    spec = server_spec.build(settings(vllm_server_model_revision=commit, vllm_server_hf_endpoint='https://hf-mirror.example.internal/hub'))
    assert '--revision=%s' % commit in spec['argv'] and spec['env']['HF_ENDPOINT'] == 'https://hf-mirror.example.internal/hub'
    # Neither set: the server as before (no fingerprint change for servers deployed before these settings existed).
    plain = server_spec.build(settings())
    assert not [a for a in plain['argv'] if a.startswith('--revision')] and 'HF_ENDPOINT' not in plain['env']

    def found(**changes):
        return ' '.join(server_spec.problems(settings(**changes)))
    assert 'vllm_server_model_revision="../x" must be a branch, a tag or a commit id' in found(vllm_server_model_revision='../x')
    assert 'a folder has no revisions' in found(vllm_server_model_revision='main', vllm_server_model='/models/m')
    assert 'vllm_server_hf_endpoint="https://***@mirror"' in found(vllm_server_hf_endpoint='https://u:p@mirror')  # never the password
    assert 'without a user' in found(vllm_server_hf_endpoint='https://u:p@mirror')
    assert 'vllm_server_hf_endpoint="mirror:8080"' in found(vllm_server_hf_endpoint='mirror:8080')
    assert 'keep vllm_server_hf_endpoint' in found(vllm_server_hf_endpoint='https://m', vllm_server_env={'HF_ENDPOINT': 'https://n'})
    assert 'vllm_server_extra_args sets --revision' in found(vllm_server_extra_args=['--revision=main'])
    assert found(vllm_server_model_revision='refs/pr/3', vllm_server_hf_endpoint='http://127.0.0.1:18960') == ''
