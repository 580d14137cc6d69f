"""The vllm_server_plan action on the controller: role vllm_server's validate step in one task per host.

The action runs as Ansible runs it (a real DataLoader and Templar over the task's variables: the role's defaults as
Ansible loads them, a model, the inventory's groups), except for the connection: its one module run (vllm_probe) is
answered by what a node would say, or, for the secrets test, run for real as a process on this machine. Covers: a
broken rule fails the host before the node is read; the rules that need the node, each message as the role's tasks
wrote them; the decision (and the outcome recorded when nothing is left to do); the spec built again when the model
path is on the node; vllm_probe's arguments; check mode; no secret in what comes back.
"""
import json
import os

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.inferops.gpu_inference.plugins.action.vllm_server_plan import ActionModule
from ansible_collections.inferops.gpu_inference.plugins.lookup.vllm_server_spec import LookupModule
from ansible_collections.inferops.gpu_inference.plugins.module_utils import model_files
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_spec
from unit_support import ROOT, install_collection_finder, make_action, run_module

DEFAULTS = os.path.join(ROOT, 'roles', 'vllm_server', 'defaults', 'main.yml')
MODEL = 'meta-llama/Llama-3.1-8B-Instruct'
API_KEY = 'sk-inferops-0123456789abcdef'
GROUPS = {'all': ['gpu-a', 'gpu-b'], 'ungrouped': [], 'gpu_nodes': ['gpu-a', 'gpu-b']}
PROBE = 'inferops.gpu_inference.vllm_probe'


@pytest.fixture(scope='module', autouse=True)
def collection_loader():
    """The settings are read through ansible.builtin.vars by its full name, which needs Ansible's collection loader."""
    finder = install_collection_finder()
    yield
    finder._remove()


def host_vars(**values):
    """The task's variables: the role's defaults (their templates templates, as a role's defaults are), a model, the
    inventory's groups and the host's name, then these values (as the inventory or -e give them)."""
    loader = DataLoader()
    try:
        variables = dict(loader.load_from_file(DEFAULTS, trusted_as_template=True))
    except TypeError:  # ansible-core 2.18
        variables = dict(loader.load_from_file(DEFAULTS))
    variables.update(vllm_server_model=MODEL, groups=GROUPS, inventory_hostname='gpu-a')
    variables.update(values)
    return variables


def lookup_spec(variables, **kwargs):
    loader = DataLoader()
    return LookupModule(loader=loader, templar=Templar(loader=loader, variables=variables)).run([], variables, **kwargs)[0]


def node_says(spec=None, status='running', restarts=0, ready=True, listening=True, gpu_count=None, **more):
    """vllm_probe's result on a node; the running server is the one of `spec` (fingerprint) unless given otherwise."""
    answer = dict(changed=False, watch_kind='docker', ready=ready, error=None, health=200 if ready else None,
                  listening=listening, log_size=10, models=['Llama-3.1-8B-Instruct'] if ready else [], stage=None, stages=[],
                  alive=status == 'running', state=status, log_tail=[], elapsed=0.01,
                  server=dict(status=status, restarts=restarts, fingerprint=spec['fingerprint'] if spec else '', image='', model=''),
                  invocation={'module_args': {'api_key': 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'}}, _ansible_parsed=True)
    if gpu_count is not None:
        answer['gpu_count'] = gpu_count
    answer.update(more)
    return answer


def plan(variables, answer=None, args=None, check_mode=False, real=False):
    """Run the action; answer: vllm_probe's result (a dict, or a function of the module's arguments). Returns
    (result, the module runs as (name, arguments))."""
    calls = []

    def execute_module(module_name, module_args, task_vars):
        calls.append((module_name, dict(module_args)))
        if real:
            return run_module(module_name.split('.')[-1], module_args, check_mode=check_mode)
        return answer(module_args) if callable(answer) else dict(answer)

    action = make_action(ActionModule, args or {}, check_mode=check_mode, variables=variables)
    action._execute_module = execute_module
    return action.run(task_vars=variables), calls


def test_a_broken_rule_fails_the_host_before_the_node_is_read():
    result, calls = plan(host_vars(vllm_server_gpu_memory_utilization='1.5', vllm_server_max_model_length=4096), node_says())
    assert result['failed'] and calls == []
    assert result['msg'] == ('Invalid vllm_server settings for gpu-a: vllm_server_gpu_memory_utilization=1.5 must be above 0 and at '
                             'most 1; vllm_server_max_model_length is not a variable of the role vllm_server (did you mean '
                             'vllm_server_max_model_len?)')
    assert 'ansible_facts' not in result


def test_the_problems_are_the_lookups():
    variables = host_vars(vllm_server_port=0, vllm_server_dtype='fp64')
    result, calls = plan(variables, node_says())
    assert result['msg'] == 'Invalid vllm_server settings for gpu-a: ' + '; '.join(lookup_spec(variables)['problems']) and calls == []


def test_a_missing_setting_is_named():
    variables = host_vars()
    del variables['vllm_server_port']
    result, calls = plan(variables, node_says())
    assert result['failed'] and calls == []
    assert result['msg'] == 'vllm_server_spec: vllm_server_port not defined (the role vllm_server defines them)'


def test_an_unchanged_running_server_is_left_as_it_is_and_its_outcome_recorded():
    variables = host_vars()
    spec = lookup_spec(variables)
    result, calls = plan(variables, node_says(spec, gpu_count=1), args={'record': True})
    assert not result.get('failed'), result.get('msg')
    facts = result['ansible_facts']
    # The spec is the lookup's (the same code), what the node said is kept as the probe task registered it.
    assert facts['_vllm_server_spec'] == spec and facts['_vllm_server_needs_deploy'] is False and result['needs_deploy'] is False
    probe = facts['_vllm_server_probe']
    assert probe['ready'] is True and probe['server']['fingerprint'] == spec['fingerprint'] and probe['gpu_count'] == 1
    assert 'invocation' not in probe and '_ansible_parsed' not in probe
    assert facts['_vllm_server_done'] is True
    assert facts['vllm_server_result'] == {'image': spec['image'], 'model': 'Llama-3.1-8B-Instruct', 'fingerprint': spec['release'],
                                           'restarts': 0, 'outcome': 'unchanged'}
    assert [name for name, args in calls] == [PROBE] and not result['changed']


@pytest.mark.parametrize('says,needs_deploy,done', [
    ({}, False, True),
    ({'ready': False}, False, False),                      # gated: it must answer
    ({'restarts': 2}, False, False),                       # gated and reported: its restart policy brought it back
    ({'fingerprint': 'other'}, True, False),               # other settings run: replaced
    ({'status': 'exited', 'listening': False}, True, False),  # not running: replaced
    ({'status': 'absent', 'fingerprint': '', 'listening': False}, True, False),  # none runs
], ids=['unchanged', 'not-ready', 'restarted', 'other-settings', 'stopped', 'none'])
def test_the_decision(says, needs_deploy, done):
    variables = host_vars()
    spec = lookup_spec(variables)
    says = dict(says)
    fingerprint = says.pop('fingerprint', spec['fingerprint'])
    answer = node_says(spec, gpu_count=1, **says)
    answer['server']['fingerprint'] = fingerprint
    result, dummy = plan(variables, answer, args={'record': True})
    assert not result.get('failed'), result.get('msg')
    facts = result['ansible_facts']
    assert facts['_vllm_server_needs_deploy'] is needs_deploy and facts['_vllm_server_done'] is done
    assert ('vllm_server_result' in facts) is done
    # Without record, only the plan; the model's presence only when asked (the validate entry point: redeploy.yml's
    # plan), and only then does the probe look for the model's files (a deploy skips that listing).
    plain, calls = plan(variables, answer)
    assert sorted(plain['ansible_facts']) == ['_vllm_server_needs_deploy', '_vllm_server_probe', '_vllm_server_spec']
    assert not set(calls[0][1]) & {'model_files', 'hf_model', 'hf_home'}
    asked, calls = plan(variables, answer, args={'model': True})
    assert sorted(asked['ansible_facts']) == ['_vllm_server_model_presence', '_vllm_server_needs_deploy', '_vllm_server_probe', '_vllm_server_spec']
    assert calls[0][1]['hf_model'] == MODEL


def test_replace_always_replaces_the_same_server_and_a_bad_value_is_named_before_the_node_is_read():
    """health.yml's heal mode: a server that runs what it should, but does not serve (a hung engine)."""
    variables = host_vars(vllm_server_replace='always')
    spec = lookup_spec(variables)
    result, dummy = plan(variables, node_says(spec, gpu_count=1), args={'record': True})
    assert not result.get('failed'), result.get('msg')
    assert result['ansible_facts']['_vllm_server_needs_deploy'] is True and result['ansible_facts']['_vllm_server_done'] is False
    assert lookup_spec(host_vars())['fingerprint'] == spec['fingerprint']  # not a setting of what runs
    result, calls = plan(host_vars(vllm_server_replace='sometimes'), node_says(spec))
    assert result['failed'] and calls == []
    assert result['msg'] == "Invalid vllm_server settings for gpu-a: vllm_server_replace='sometimes': must be one of changed, always"


def test_evidence_to_save_leaves_something_to_do_except_in_check_mode():
    variables = host_vars(vllm_server_evidence_dir='/tmp/evidence')
    spec = lookup_spec(variables)
    result, dummy = plan(variables, node_says(spec, gpu_count=1), args={'record': True})
    assert result['ansible_facts']['_vllm_server_done'] is False and 'vllm_server_result' not in result['ansible_facts']
    checked, calls = plan(variables, node_says(spec, gpu_count=1), args={'record': True}, check_mode=True)
    # The probe only reads: it runs in check mode too.
    assert [name for name, args in calls] == [PROBE] and checked['ansible_facts']['_vllm_server_done'] is True


@pytest.mark.parametrize('values,says,message', [
    ({'vllm_server_tensor_parallel_size': 4, 'vllm_server_gpus': 'all'}, {'gpu_count': 2},
     'vllm_server_tensor_parallel_size=4 x vllm_server_pipeline_parallel_size=1 needs 4 GPU(s); nvidia-smi on gpu-a reports 2'),
    ({'vllm_server_gpus': [0, 3]}, {'gpu_count': 2},
     'vllm_server_gpus=[0, 3] asks for GPU(s) that gpu-a does not have: nvidia-smi reports 2 (ids 0 to 1)'),
    ({'vllm_server_gpus': '4'}, {'gpu_count': 2},
     'vllm_server_gpus="4" asks for GPU(s) that gpu-a does not have: nvidia-smi reports 2 (ids 0 to 1)'),
    ({'vllm_server_port': 8001}, {'gpu_count': 1, 'status': 'absent', 'ready': False},
     'vllm_server_port=8001 on 127.0.0.1 is in use on gpu-a by something other than docker vllm; '
     'choose a free port or stop what listens there'),
    # vllm_probe's own words for a node without the engine's CLI (a guide 003 host before podman is installed).
    ({'inferops_runtime': 'podman'}, {'gpu_count': 1, 'listening': False, 'ready': False, 'status': '', 'state': 'podman CLI not found'},
     'vllm_server_runtime=podman: podman is not installed on gpu-a; install it (playbooks/setup.yml with '
     'gpu_host_setup_install_engines: true) or choose another runtime (docker, podman, process)'),
], ids=['tp-x-pp', 'gpu-ids', 'gpu-count', 'port', 'no-engine'])
def test_what_the_host_lacks_fails_it_naming_it(values, says, message):
    variables = host_vars(**values)
    spec = lookup_spec(variables)
    result, calls = plan(variables, node_says(spec, **says), args={'record': True})
    assert result['failed'] and result['msg'] == 'Invalid vllm_server settings for gpu-a: ' + message
    assert len(calls) == 1 and 'ansible_facts' not in result


def test_every_thing_the_host_lacks_is_named_and_a_cpu_node_has_no_gpu_rule():
    variables = host_vars(vllm_server_tensor_parallel_size=2, vllm_server_gpus=[0, 1])
    result, dummy = plan(variables, node_says(None, gpu_count=1, status='absent', ready=False))
    assert result['msg'] == (
        'Invalid vllm_server settings for gpu-a: vllm_server_tensor_parallel_size=2 x vllm_server_pipeline_parallel_size=1 needs 2 '
        'GPU(s); nvidia-smi on gpu-a reports 1; vllm_server_gpus=[0, 1] asks for GPU(s) that gpu-a does not have: nvidia-smi '
        'reports 1 (ids 0 to 0); vllm_server_port=8000 on 127.0.0.1 is in use on gpu-a by something other than docker vllm; '
        'choose a free port or stop what listens there')
    cpu = host_vars(inferops_accelerator='cpu', vllm_server_tensor_parallel_size=2)
    result, calls = plan(cpu, node_says(lookup_spec(cpu)))
    assert not result.get('failed'), result.get('msg')
    assert 'nvidia_smi' not in calls[0][1]


def test_the_port_of_a_process_names_the_manager_the_node_has():
    variables = host_vars(inferops_runtime='process')
    spec = lookup_spec(variables)
    result, calls = plan(variables, node_says(spec, gpu_count=1, status='', ready=False, watch_kind='systemd'))
    assert result['msg'].endswith('is in use on gpu-a by something other than systemd vllm; choose a free port or stop what listens there')
    args = calls[0][1]
    assert args['watch_kind'] == 'process' and args['unit_files'] == spec['process']['unit_files']
    supervised, calls = plan(host_vars(inferops_runtime='process', vllm_server_process_manager='supervisor'),
                             node_says(spec, gpu_count=1, status='', ready=False, watch_kind='supervisor'))
    assert 'other than supervisor vllm;' in supervised['msg'] and calls[0][1]['watch_kind'] == 'supervisor'


def test_the_probe_is_asked_as_the_role_asked_it():
    variables = host_vars(vllm_server_nvidia_smi='/usr/bin/nvidia-smi', vllm_server_port=8003)
    spec = lookup_spec(variables)
    dummy, calls = plan(variables, node_says(spec, gpu_count=1), args={'model': True})
    assert calls == [(PROBE, {'url': 'http://127.0.0.1:8003', 'served_model_name': 'Llama-3.1-8B-Instruct', 'log_file': spec['log_file'],
                              'watch_kind': 'docker', 'watch_name': 'vllm', 'unit_files': {}, 'nvidia_smi': '/usr/bin/nvidia-smi',
                              'hf_model': MODEL, 'hf_home': '/var/lib/inferops/hf-cache', 'hf_revision': '',
                              'writable': {'vllm_server_base_dir': '/var/lib/inferops/vllm/vllm',
                                           'vllm_server_hf_cache_dir': '/var/lib/inferops/hf-cache',
                                           'vllm_server_cache_dir': '/var/lib/inferops/vllm/vllm-cache'}})]
    keyed = host_vars(vllm_server_api_key=API_KEY, vllm_server_model='/models/llama-8b')
    dummy, calls = plan(keyed, node_says(lookup_spec(keyed), gpu_count=1))
    assert calls[0][1]['api_key'] == API_KEY and calls[0][1]['model_path'] == '/models/llama-8b'


def test_folders_the_connecting_user_cannot_write_are_named_with_the_setting_before_any_change():
    # A user without root (rootless podman) with the role's default folders: the probe says which it could not make.
    variables = host_vars(vllm_server_hf_cache_dir='/home/lab/hf', vllm_server_volumes=['/data/x:/x:ro'])
    spec = lookup_spec(variables)
    says = node_says(spec, gpu_count=1, status='absent', ready=False, listening=False,
                     unwritable={'vllm_server_base_dir': ['/var/lib/inferops/vllm/vllm', '/var/lib'],
                                 'vllm_server_volumes[0]': ['/data/x', '/'],
                                 # there, but not the user's: a cache shared read-only is only mounted
                                 'vllm_server_hf_cache_dir': ['/home/lab/hf', '/home/lab/hf']})
    result, calls = plan(variables, says)
    assert result['failed'] and 'ansible_facts' not in result
    tail = ('a folder of its own (a user without root running podman rootless: docs/guides/003-podman-cdi-tp2.md), or become root')
    assert result['msg'] == (
        'Invalid vllm_server settings for gpu-a: vllm_server_base_dir (/var/lib/inferops/vllm/vllm): the user the role runs as on '
        'gpu-a (ansible_user, or become_user) cannot make folders in /var/lib; set vllm_server_base_dir to ' + tail + '; '
        'vllm_server_volumes[0] (/data/x): the user the role runs as on gpu-a (ansible_user, or become_user) cannot make folders '
        'in /; set vllm_server_volumes to ' + tail)
    assert calls[0][1]['writable'] == {'vllm_server_base_dir': '/var/lib/inferops/vllm/vllm', 'vllm_server_hf_cache_dir': '/home/lab/hf',
                                       'vllm_server_cache_dir': '/var/lib/inferops/vllm/vllm-cache', 'vllm_server_volumes[0]': '/data/x'}
    # The server's own folder, there but not the user's, is refused too.
    says['unwritable'] = {'vllm_server_base_dir': ['/var/lib/inferops/vllm/vllm', '/var/lib/inferops/vllm/vllm']}
    result, dummy = plan(variables, says)
    assert 'vllm_server_base_dir (/var/lib/inferops/vllm/vllm): the user the role runs as on gpu-a (ansible_user, or become_user) ' \
           'cannot write in /var/lib/inferops/vllm/vllm' in result['msg']


def test_a_model_path_on_the_node_builds_the_spec_again_with_its_mount():
    variables = host_vars(vllm_server_model='/models/llama-8b')
    without = lookup_spec(variables)
    there = lookup_spec(variables, node={'model_on_node': True})
    result, dummy = plan(variables, node_says(there, gpu_count=1, model_on_node=True))
    spec = result['ansible_facts']['_vllm_server_spec']
    assert spec == there and '/models/llama-8b:/models/llama-8b:ro' in spec['engine']['volumes']
    assert spec['fingerprint'] != without['fingerprint'] and result['ansible_facts']['_vllm_server_needs_deploy'] is False
    # Not on the node: a path inside the image, no mount; the server deployed with the mount is replaced.
    result, dummy = plan(variables, node_says(there, gpu_count=1, model_on_node=False))
    assert result['ansible_facts']['_vllm_server_spec'] == without and result['ansible_facts']['_vllm_server_needs_deploy'] is True


def test_a_failed_probe_fails_the_host_with_its_message():
    answer = {'failed': True, 'msg': 'nvidia-smi not found (vllm_server_nvidia_smi=nvidia-smi): install the NVIDIA driver on this host, '
                                     'or set vllm_server_nvidia_smi to where nvidia-smi is', 'reason': 'nvidia_smi_missing'}
    result, dummy = plan(host_vars(), answer)
    assert result['failed'] and result['msg'] == answer['msg'] and result['reason'] == 'nvidia_smi_missing'


def test_the_api_key_reaches_only_the_probe_which_masks_it():
    # vllm_probe run for real (no server, no supervisord here: nothing answers); its argument spec marks api_key no_log.
    variables = host_vars(inferops_runtime='process', inferops_accelerator='cpu', vllm_server_process_manager='supervisor',
                          vllm_server_api_key=API_KEY, vllm_server_port=1, vllm_server_base_dir='/nonexistent/inferops')
    result, calls = plan(variables, real=True, args={'record': True})
    assert not result.get('failed'), result.get('msg')
    assert calls[0][1]['api_key'] == API_KEY
    assert API_KEY not in json.dumps(result, default=str)
    probe = result['ansible_facts']['_vllm_server_probe']
    assert probe['ready'] is False and probe['watch_kind'] == 'supervisor' and result['ansible_facts']['_vllm_server_needs_deploy'] is True


def test_the_plan_says_whether_the_node_already_has_the_target_model(tmp_path):
    # vllm_probe run for real on this machine's folders, as a node's: a staged copy compared file by file with the
    # controller's folder, a model path for a process, a hub id in the Hugging Face cache.
    source, node = tmp_path / 'controller' / 'tiny', tmp_path / 'node'
    source.mkdir(parents=True)
    (source / 'config.json').write_text('{}')
    (source / 'model.safetensors').write_bytes(b'w' * 1000)
    base = dict(inferops_runtime='process', inferops_accelerator='cpu', vllm_server_process_manager='supervisor', vllm_server_port=1,
                vllm_server_base_dir=str(node / 'vllm'), vllm_server_hf_cache_dir=str(node / 'hf'))

    def presence(**values):
        result, dummy = plan(host_vars(**dict(base, **values)), real=True, args={'model': True})
        assert not result.get('failed'), result.get('msg')
        return result['ansible_facts']['_vllm_server_model_presence']

    staged = dict(vllm_server_model_source=str(source), vllm_server_model_dir=str(node / 'models'))
    found = presence(**staged)
    manifest = '%s/models/tiny.inferops-staged.json' % node
    assert found['on_node'] is False and found['where'] == 'staged copy %s/models/tiny' % node
    assert found['missing'] == ['config.json', 'model.safetensors'] and found['manifest'] == manifest
    (node / 'models' / 'tiny').mkdir(parents=True)
    (node / 'models' / 'tiny' / 'config.json').write_text('{}')
    (node / 'models' / 'tiny' / 'model.safetensors').write_bytes(b'w' * 999)  # a copy cut short
    assert presence(**staged)['missing'] == ['model.safetensors']
    (node / 'models' / 'tiny' / 'model.safetensors').write_bytes(b'w' * 1000)
    stale = 'staged copy %s/models/tiny (not the controller folder as it is now: no record of staging it, or files changed there since)'
    assert presence(**staged) == {'on_node': False, 'where': stale % node, 'missing': [], 'manifest': manifest}
    # On the node once the record of its staging names the controller's folder as it is now; a file changed there since
    # (same size, a new time) makes the copy stale again, and so does a record that is not JSON.
    signature = server_spec.model_source_signature(model_files.listing(str(source)))
    with open(manifest, 'w') as handle:
        json.dump({'signature': signature}, handle)
    assert presence(**staged) == {'on_node': True, 'where': 'staged copy %s/models/tiny' % node, 'missing': [], 'manifest': manifest}
    os.utime(str(source / 'model.safetensors'), ns=(1, 1))
    assert presence(**staged)['on_node'] is False
    with open(manifest, 'w') as handle:
        json.dump({'signature': server_spec.model_source_signature(model_files.listing(str(source)))}, handle)
    assert presence(**staged)['on_node'] is True
    with open(manifest, 'w') as handle:
        handle.write('not json')
    assert presence(**staged)['on_node'] is False
    # A deploy (model not asked) still reads a staged copy: its prepare step copies only when the copy is not current.
    result, calls = plan(host_vars(**dict(base, **staged)), real=True)
    assert calls[0][1]['model_manifest'] == manifest and result['ansible_facts']['_vllm_server_model_presence']['on_node'] is False

    assert presence(vllm_server_model=str(node / 'models' / 'tiny'))['on_node'] is True
    # A container serves a path the node lacks from its image: not the node's to have.
    image = 'public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.32.0'
    assert presence(inferops_runtime='docker', vllm_server_model=str(node / 'models' / 'other')) == {
        'on_node': None, 'where': '%s/models/other inside the image %s' % (node, image), 'missing': []}
    assert presence(inferops_runtime='docker', vllm_server_model=str(node / 'models' / 'tiny'))['on_node'] is True
    assert presence(vllm_server_model=str(node / 'models' / 'other'))['on_node'] is False

    assert presence()['on_node'] is False  # the hub id, not in the cache
    snapshot = node / 'hf' / 'hub' / ('models--' + MODEL.replace('/', '--')) / 'snapshots' / '0123abcd'
    snapshot.mkdir(parents=True)
    (snapshot / 'config.json').write_text('{}')
    assert presence()['on_node'] is False  # a snapshot without weights: a download cut short
    (snapshot / 'model.safetensors').write_bytes(b'w')
    assert presence() == {'on_node': True, 'where': 'Hugging Face cache %s/hf, revision main' % node, 'missing': []}
    # A pinned revision: only its snapshot counts (the one there is another commit's).
    pinned = 'fedcba98' * 5
    assert presence(vllm_server_model_revision=pinned) == {
        'on_node': False, 'where': 'Hugging Face cache %s/hf, revision %s' % (node, pinned), 'missing': []}
    snapshot.rename(snapshot.parent / pinned)
    assert presence(vllm_server_model_revision=pinned)['on_node'] is True
