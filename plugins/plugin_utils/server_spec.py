# -*- coding: utf-8 -*-
# Copyright: inferops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server spec: what a vllm_server would run, built once from the role's settings.

``problems(settings)`` holds the role's rules across settings (its argument spec checks types and
choices); ``build(settings)`` turns settings that pass them into one dict: the argv, the environment,
the mounts and devices, the release files, the process manager's files, and every name, path and URL
the role's tasks use. The fingerprint is the hash of what would run, so a setting that changes the
server changes it without being listed anywhere else. Secrets enter the spec only as the names of
their files (and, in the fingerprint, as hashes).

Adding a setting: its argument spec (and default), and here: SETTINGS, then the part of the spec it
changes (or NOT_THE_SERVER with why it does not change what runs). tests/unit/plugins/plugin_utils/
test_server_spec.py changes each option in turn and checks the fingerprint follows.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shlex

from ansible.module_utils.common.validation import check_type_dict, check_type_list
from ansible_collections.inferops.gpu_inference.plugins.module_utils import hf_hub
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_group

# The role variables the spec reads (every one a main option of roles/vllm_server/meta/argument_specs.yml).
SETTINGS = (
    'vllm_server_runtime', 'vllm_server_accelerator', 'vllm_server_image', 'vllm_server_model', 'vllm_server_model_source',
    'vllm_server_model_dir', 'vllm_server_served_model_name', 'vllm_server_tensor_parallel_size',
    'vllm_server_pipeline_parallel_size', 'vllm_server_gpu_memory_utilization', 'vllm_server_max_model_len',
    'vllm_server_dtype', 'vllm_server_quantization', 'vllm_server_quantization_methods', 'vllm_server_extra_args',
    'vllm_server_port', 'vllm_server_bind_address', 'vllm_server_allow_unauthenticated', 'vllm_server_name',
    'vllm_server_base_dir', 'vllm_server_hf_cache_dir', 'vllm_server_env', 'vllm_server_gpus', 'vllm_server_ipc_host',
    'vllm_server_shm_size', 'vllm_server_ulimits', 'vllm_server_restart_policy', 'vllm_server_hf_token',
    'vllm_server_api_key', 'vllm_server_health_timeout', 'vllm_server_perf_gate', 'vllm_server_gateways',
    'vllm_server_venv', 'vllm_server_pip_spec', 'vllm_server_process_manager', 'vllm_server_supervisor_conf_dir',
    'vllm_server_state', 'vllm_server_log_level', 'vllm_server_volumes', 'vllm_server_security_opts', 'vllm_server_hooks_dir',
    'vllm_server_supervisor_dir', 'vllm_server_cache_dir', 'vllm_server_model_revision', 'vllm_server_hf_endpoint',
    'vllm_server_nodes', 'vllm_server_node_address', 'vllm_server_master_port', 'vllm_server_collective_ifname',
)
LOG_LEVELS = ('DEBUG', 'INFO', 'WARNING', 'ERROR')
VOLUME_OPTIONS = ('ro', 'rw', 'z', 'Z')

# Options of the role that do not change what runs, and why (the unit test holds every option to
# SETTINGS-and-the-fingerprint or to this list).
NOT_THE_SERVER = {
    'vllm_server_image_gpu': 'read through vllm_server_image (its default)',
    'vllm_server_image_cpu': 'read through vllm_server_image (its default)',
    'vllm_server_image_pull': 'when to pull, not what runs',
    'vllm_server_quantization_methods': 'the allowed values of vllm_server_quantization',
    'vllm_server_allow_unauthenticated': 'allows a setting, changes nothing that runs',
    'vllm_server_health_timeout': 'the health gate, after the start',
    'vllm_server_smoke_tests': 'the health gate, after the start',
    'vllm_server_smoke_prompt': 'the health gate, after the start',
    'vllm_server_smoke_max_tokens': 'the health gate, after the start',
    'vllm_server_smoke_temperature': 'the health gate, after the start',
    'vllm_server_smoke_sequential': 'the health gate, after the start',
    'vllm_server_perf_gate': 'the canary gate, after the start',
    'vllm_server_replace': 'whether to replace a server, not what runs',
    'vllm_server_gateways': 'where the node is drained, not what runs',
    'vllm_server_evidence_dir': 'evidence on the controller',
    'vllm_server_collect_env': 'evidence on the controller',
    'vllm_server_nvidia_smi': 'the GPU count check',
    'vllm_server_state': 'whether the server is there (absent removes it), not what it runs',
    'vllm_server_health_stall_seconds': 'the day-2 health check (entry point health), not what runs',
    'vllm_server_health_probe_timeout': 'the day-2 health check (entry point health), not what runs',
}
# The facts the role sets for others to read (its README's Outputs): not mistyped settings.
OUTPUTS = ('vllm_server_result', 'vllm_server_plan', 'vllm_server_perf_comparison', 'vllm_server_health')
# With vllm_server_state absent, only the settings that name the server and its place are checked.
ABSENT_CHECKS = ('vllm_server_name', 'vllm_server_base_dir', 'vllm_server_hf_cache_dir', 'vllm_server_model_dir', 'vllm_server_venv',
                 'vllm_server_supervisor_conf_dir', 'vllm_server_supervisor_dir', 'vllm_server_gateways')

# Options vllm_server sets from its own variables: named in extra_args they would fight them.
MANAGED_ARGS = {
    '--host': 'vllm_server_bind_address', '--port': 'vllm_server_port', '--api-key': 'vllm_server_api_key',
    '--model': 'vllm_server_model', '--served-model-name': 'vllm_server_served_model_name',
    '--tensor-parallel-size': 'vllm_server_tensor_parallel_size', '-tp': 'vllm_server_tensor_parallel_size',
    '--pipeline-parallel-size': 'vllm_server_pipeline_parallel_size', '-pp': 'vllm_server_pipeline_parallel_size',
    '--gpu-memory-utilization': 'vllm_server_gpu_memory_utilization', '--max-model-len': 'vllm_server_max_model_len',
    '--quantization': 'vllm_server_quantization', '-q': 'vllm_server_quantization', '--dtype': 'vllm_server_dtype',
    '--config': "vllm_server_api_key (the role's own --config file)", '--revision': 'vllm_server_model_revision',
    '--nnodes': 'vllm_server_nodes', '--node-rank': 'vllm_server_nodes', '--headless': 'vllm_server_nodes',
    '--master-addr': 'vllm_server_node_address (the leader\'s)', '--master-port': 'vllm_server_master_port',
    '--distributed-executor-backend': 'vllm_server_nodes (the multiprocessing backend across nodes)',
}
DTYPES = ('auto', 'half', 'float16', 'bfloat16', 'float', 'float32')
# A change of this number replaces every server once (a new layout of what runs).
LAYOUT = 2

HF_ID_RE = hf_hub.MODEL_RE
PATH_RE = re.compile(r'^(/(?!\.\.(/|$))[^/\s\x00-\x1f]+)+/?\Z')
IMAGE_RE = re.compile(r'^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._/-][a-z0-9]+)*)*'
                      r'(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})\Z')
SHELL_RE = re.compile(r'[;|&$`<>\x00-\x1f\x7f]')
SECRET_ENV_RE = re.compile(r'(?i)(^|_)(token|secret|password|passwd|api_?key|access_?key|private_?key|credentials?)(_|$)')
ENV_NAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*\Z')
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z')
SERVED_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}\Z')
BIND_RE = re.compile(r'^([0-9a-fA-F.:]+|localhost)\Z')
API_KEY_RE = re.compile(r'^[!#-&(-\[\]-~]+\Z')
HF_TOKEN_RE = re.compile(r'^[A-Za-z0-9_-]{8,}\Z')
SHM_RE = re.compile(r'^[0-9]+[bkmgBKMG]?\Z')
PIP_RE = re.compile(r'^[A-Za-z0-9/][A-Za-z0-9._\[\],<>=!~+:/@%-]*\Z')
ULIMIT_RE = re.compile(r'^[a-z]+=-?[0-9]+(:-?[0-9]+)?\Z')
# A GPU as docker's --gpus device= and a CDI name take it: its index, or its UUID (nvidia-smi -L).
GPU_ID_RE = re.compile(r'^([0-9]+|(GPU|MIG)-[0-9A-Fa-f-]+)\Z')

# Paths inside a container.
CTR_CONFIG_DIR = '/etc/inferops-vllm'
CTR_SECRETS_DIR = '/run/secrets/inferops-vllm'
CTR_LOG_DIR = '/var/log/inferops-vllm'
CTR_HF_HOME = '/root/.cache/huggingface'
CTR_VLLM_CACHE = '/root/.cache/vllm'
# What vllm_server mounts in a container: a volume of vllm_server_volumes may not land there.
CTR_MANAGED = (CTR_CONFIG_DIR, CTR_SECRETS_DIR, CTR_LOG_DIR, CTR_HF_HOME, CTR_VLLM_CACHE)
# States of a container (docker, podman), supervisord program or systemd unit that still run
# (or are being restarted by their engine or manager).
RUNNING_STATES = ('running', 'restarting', 'RUNNING', 'STARTING', 'BACKOFF', 'active', 'activating', 'reloading')
MANAGED = 'Ansible managed (inferops.gpu_inference.vllm_server): written on each deploy, edits are lost'


INTS = ('vllm_server_tensor_parallel_size', 'vllm_server_pipeline_parallel_size', 'vllm_server_max_model_len', 'vllm_server_port',
        'vllm_server_health_timeout', 'vllm_server_master_port')
BOOLS = ('vllm_server_ipc_host', 'vllm_server_allow_unauthenticated')
TRUE = ('y', 'yes', 'on', '1', 'true', 't')


def settings_of(values):
    """The settings with the argument spec's types (a value given with -e arrives as a string)."""
    s = dict(values)
    for name in INTS:
        s[name] = int(s[name])
    for name in BOOLS:
        s[name] = s[name] if isinstance(s[name], bool) else str(s[name]).lower() in TRUE
    s['vllm_server_gpu_memory_utilization'] = float(s['vllm_server_gpu_memory_utilization'])
    # As the argument spec reads them (it checks a converted copy and leaves the variable as given): a string is a
    # comma-separated list (-e vllm_server_extra_args=--enforce-eager), or key=value pairs for the environment.
    for name in ('vllm_server_extra_args', 'vllm_server_ulimits', 'vllm_server_gateways', 'vllm_server_quantization_methods',
                 'vllm_server_volumes', 'vllm_server_security_opts', 'vllm_server_nodes'):
        s[name] = check_type_list(s[name]) if s[name] not in (None, '') else []
    s['vllm_server_env'] = check_type_dict(s['vllm_server_env']) if s['vllm_server_env'] not in (None, '') else {}
    for name in SETTINGS:
        if s[name] is None:
            s[name] = ''
    return s


def _json(value):
    return json.dumps(value, sort_keys=True)


def _sha256(text):
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def is_container(s):
    return s['vllm_server_runtime'] in ('docker', 'podman')


def gpu_ids(s):
    """The device ids of vllm_server_gpus when it is a list, else []."""
    gpus = s['vllm_server_gpus']
    return list(gpus) if isinstance(gpus, (list, tuple)) else []


def _is_count(value):
    return re.match(r'^[0-9]+\Z', str(value)) is not None


def gpus_used(s):
    """How many GPUs vllm_server_gpus gives: -1 for all."""
    ids = gpu_ids(s)
    if ids:
        return len(ids)
    return -1 if str(s['vllm_server_gpus']) == 'all' else int(s['vllm_server_gpus']) if _is_count(s['vllm_server_gpus']) else 0


MODEL_SETTINGS = ('vllm_server_model', 'vllm_server_model_source', 'vllm_server_model_dir', 'vllm_server_served_model_name')
ROLE_DEFAULTS = os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'vllm_server', 'defaults', 'main.yml')


def model_defaults():
    """The role's defaults of MODEL_SETTINGS (none is a template), for readers outside the role."""
    import yaml  # the controller's; only this reader needs it
    with open(ROLE_DEFAULTS) as handle:
        defaults = yaml.safe_load(handle)
    return dict((name, defaults[name]) for name in MODEL_SETTINGS)


def model(s):
    """The model as served: a staged folder is served by its path on the node."""
    source = s['vllm_server_model_source'].rstrip('/')
    staged = '%s/%s' % (s['vllm_server_model_dir'].rstrip('/'), os.path.basename(source)) if source else ''
    ref = staged or s['vllm_server_model']
    name = s['vllm_server_served_model_name'] or os.path.basename(ref.rstrip('/'))
    return {'ref': ref, 'name': name, 'staged': staged, 'is_path': ref[:1] in ('/', '.')}


def local_url(s):
    node = group_node(s)
    if node and node['rank'] > 0:
        return server_group.leader_url(s, node)  # a headless node's server is its leader's
    host = '127.0.0.1' if s['vllm_server_bind_address'] in ('0.0.0.0', '::') else s['vllm_server_bind_address']
    return 'http://%s:%s' % (host, s['vllm_server_port'])


def group_node(s):
    """This node's place in a server across nodes (server_group.node_of, set by server_plan.read_settings), or None."""
    return s.get('_node')


def _published(s):
    """docker publishes its port from the container's network; podman, and the nodes of a server across nodes (whose
    collectives reach each other's addresses), run on the host's."""
    return s['vllm_server_runtime'] == 'docker' and not group_node(s)


def _show(value):
    return json.dumps(value)


def problems(s, inventory_hosts=(), perf_gate_problems=()):
    """The rules across settings, as messages naming the variable, the value and what is allowed."""
    found = _problems(s, inventory_hosts, perf_gate_problems)
    if s.get('vllm_server_state') == 'absent':
        return [p for p in found if p.startswith(ABSENT_CHECKS)]
    return found


def _problems(s, inventory_hosts, perf_gate_problems):
    out = list(perf_gate_problems)
    container = is_container(s)
    ids = gpu_ids(s)
    m = model(s)
    nvidia = s['vllm_server_accelerator'] == 'nvidia'
    if not m['ref']:
        out.append('vllm_server_model is empty: give a Hugging Face id (org/name), a path on the node, or vllm_server_model_source')
    if not 0 < float(s['vllm_server_gpu_memory_utilization']) <= 1:
        out.append('vllm_server_gpu_memory_utilization=%s must be above 0 and at most 1' % s['vllm_server_gpu_memory_utilization'])
    for name in ('vllm_server_tensor_parallel_size', 'vllm_server_pipeline_parallel_size'):
        if int(s[name]) < 1:
            out.append('%s=%s must be 1 or more' % (name, s[name]))
    if int(s['vllm_server_max_model_len']) < 0:
        out.append("vllm_server_max_model_len=%s must be 0 (the model's own) or more" % s['vllm_server_max_model_len'])
    if not 1 <= int(s['vllm_server_port']) <= 65535:
        out.append('vllm_server_port=%s must be a port from 1 to 65535' % s['vllm_server_port'])
    image = s['vllm_server_image']
    if container and (not IMAGE_RE.match(image) or not re.search(r'[:@][^/]+\Z', image) or image.endswith(':latest')):
        out.append('vllm_server_image=%s must be a pinned image reference such as docker.io/vllm/vllm-openai:v0.32.0 '
                   '(registry/name:tag or name@sha256:digest; not :latest, not untagged)' % image)
    if (s['vllm_server_bind_address'] not in ('127.0.0.1', 'localhost', '::1') and not s['vllm_server_api_key']
            and not s['vllm_server_allow_unauthenticated']):
        out.append('vllm_server_bind_address=%s is not loopback and vllm_server_api_key is empty: set an API key, '
                   'or vllm_server_allow_unauthenticated: true to serve without one' % s['vllm_server_bind_address'])
    gpus = s['vllm_server_gpus']
    if nvidia and not (str(gpus) == 'all' or ids or (_is_count(gpus) and int(gpus) >= 1)):
        out.append('vllm_server_gpus=%s must be all, a count of 1 or more, or a list of device ids' % gpus)
    need = int(s['vllm_server_tensor_parallel_size']) * int(s['vllm_server_pipeline_parallel_size'])
    if s['vllm_server_nodes']:
        # A server across nodes: TP x PP ranks, as many on each node; the GPUs given on each node are its ranks.
        out += server_group.problems(s, s.get('_host', ''), inventory_hosts)
        if nvidia and gpus_used(s) > 0 and gpus_used(s) != server_group.local_ranks(s):
            out.append('vllm_server_gpus=%s gives %d GPU(s) on %s; each of the %d nodes of vllm_server_nodes runs TP x PP / nodes = %d '
                       '(TP x PP must equal the GPUs of the group)'
                       % (gpus, gpus_used(s), s.get('_host', 'this node'), len(s['vllm_server_nodes']), server_group.local_ranks(s)))
    elif nvidia and gpus_used(s) > 0 and need > gpus_used(s):
        out.append('vllm_server_tensor_parallel_size x vllm_server_pipeline_parallel_size = %d but vllm_server_gpus=%s gives only %d GPU(s)'
                   % (need, gpus, gpus_used(s)))
    if container and not s['vllm_server_ipc_host'] and not s['vllm_server_shm_size']:
        out.append('vllm_server_ipc_host=false needs vllm_server_shm_size (such as 16g) for tensor parallelism')
    # Secrets: named, never shown. Printable, no spaces, quotes or backslashes: a secret that a
    # quoting or repr changes would no longer be masked by Ansible's no_log where it is logged.
    key, token = s['vllm_server_api_key'], s['vllm_server_hf_token']
    if key and (len(key) < 16 or not API_KEY_RE.match(key)):
        out.append('vllm_server_api_key (%d characters, not shown) must be at least 16 characters, '
                   'without spaces, quotes, backslashes or control characters' % len(key))
    if token and not HF_TOKEN_RE.match(token):
        out.append('vllm_server_hf_token (%d characters, not shown) must be a Hugging Face access token: '
                   'letters, digits, _ and - only (such as hf_...), on one line' % len(token))
    if not NAME_RE.match(s['vllm_server_name']):
        out.append('vllm_server_name=%s must be 1 to 63 letters, digits, . _ or -, starting with a letter or digit '
                   '(it names the container, the supervisord program or systemd unit, and a folder under vllm_server_base_dir)'
                   % _show(s['vllm_server_name']))
    paths = ('vllm_server_base_dir', 'vllm_server_hf_cache_dir', 'vllm_server_model_dir', 'vllm_server_venv',
             'vllm_server_supervisor_conf_dir')
    bad = ['%s=%s' % (name, _show(s[name])) for name in paths if not PATH_RE.match(s[name])]
    if s['vllm_server_cache_dir'] and not PATH_RE.match(s['vllm_server_cache_dir']):
        bad.append('vllm_server_cache_dir=%s' % _show(s['vllm_server_cache_dir']))
    if s['vllm_server_supervisor_dir'] and not PATH_RE.match(s['vllm_server_supervisor_dir']):
        bad.append('vllm_server_supervisor_dir=%s' % _show(s['vllm_server_supervisor_dir']))
    if bad:
        out.append('%s must be absolute paths without whitespace, control characters or .. parts' % ', '.join(bad))
    if s['vllm_server_supervisor_dir'] and (container or s['vllm_server_process_manager'] == 'systemd'):
        out.append('vllm_server_supervisor_dir=%s is the folder of a supervisord of your own (a user without root); it needs '
                   'vllm_server_runtime=process and vllm_server_process_manager auto or supervisor, not %s'
                   % (_show(s['vllm_server_supervisor_dir']),
                      'vllm_server_runtime=' + s['vllm_server_runtime'] if container else 'vllm_server_process_manager=systemd'))
    if s['vllm_server_model'] and not HF_ID_RE.match(s['vllm_server_model']) and not PATH_RE.match(s['vllm_server_model']):
        out.append('vllm_server_model=%s must be a Hugging Face id (org/name: letters, digits, . _ -) '
                   'or an absolute path on the node without whitespace, control characters or .. parts' % _show(s['vllm_server_model']))
    revision, endpoint = s['vllm_server_model_revision'], s['vllm_server_hf_endpoint']
    if revision and not hf_hub.REVISION_RE.match(revision):
        out.append('vllm_server_model_revision=%s must be a branch, a tag or a commit id of the hub (letters, digits, . _ - /, '
                   'no .. or //)' % _show(revision))
    elif revision and (s['vllm_server_model_source'] or not HF_ID_RE.match(s['vllm_server_model'])):
        out.append('vllm_server_model_revision=%s is a revision of a Hugging Face id; vllm_server_model=%s%s is not one (a folder '
                   'has no revisions): leave vllm_server_model_revision empty' % (
                       _show(revision), _show(s['vllm_server_model']),
                       ' with vllm_server_model_source' if s['vllm_server_model_source'] else ''))
    if endpoint and hf_hub.endpoint_problem(endpoint):
        out.append('vllm_server_hf_endpoint=%s: %s' % (_show(hf_hub.shown(endpoint)), hf_hub.endpoint_problem(endpoint)))
    if s['vllm_server_model_source'] and not os.path.isdir(s['vllm_server_model_source']):
        out.append('vllm_server_model_source=%s is not a folder on the controller' % _show(s['vllm_server_model_source']))
    served = s['vllm_server_served_model_name']
    if served and not SERVED_NAME_RE.match(served):
        out.append('vllm_server_served_model_name=%s must be letters, digits and . _ - / : (no whitespace), starting with a letter or digit'
                   % _show(served))
    quantization, methods = s['vllm_server_quantization'], s['vllm_server_quantization_methods']
    if quantization and quantization not in methods:
        out.append('vllm_server_quantization=%s is not a quantization method of vLLM; allowed: %s '
                   '(or empty: none; extend vllm_server_quantization_methods for another vLLM)' % (_show(quantization), ', '.join(methods)))
    if s['vllm_server_dtype'] not in DTYPES:
        out.append('vllm_server_dtype=%s must be one of %s' % (_show(s['vllm_server_dtype']), ', '.join(DTYPES)))
    if not BIND_RE.match(s['vllm_server_bind_address']):
        out.append('vllm_server_bind_address=%s must be an IP address or localhost' % _show(s['vllm_server_bind_address']))
    extra = [str(a) for a in s['vllm_server_extra_args']]
    managed = [a.split('=', 1)[0] for a in extra if a.split('=', 1)[0] in MANAGED_ARGS]
    if managed:
        instead = []
        for a in managed:
            if MANAGED_ARGS[a] not in instead:
                instead.append(MANAGED_ARGS[a])
        out.append('vllm_server_extra_args sets %s, which vllm_server sets itself: use %s instead' % (', '.join(managed), ', '.join(instead)))
    shell = [a for a in extra if SHELL_RE.search(a)]
    if shell:
        out.append('vllm_server_extra_args item(s) %s carry shell syntax or control characters (; | & $ ` < > or a newline): '
                   'each item is one argument, passed without a shell' % ', '.join(_show(a) for a in shell))
    env = s['vllm_server_env']
    names = [str(k) for k in env]
    secret = [n for n in names if SECRET_ENV_RE.search(n)]
    if secret:
        out.append('vllm_server_env names %s look like secrets, which the environment would show in plain view '
                   '(docker inspect, the unit file, -vvv output): put a Hugging Face token in vllm_server_hf_token and the API key in '
                   'vllm_server_api_key (root-only files)' % ', '.join(secret))
    if 'HF_ENDPOINT' in names and s['vllm_server_hf_endpoint']:
        out.append('vllm_server_env sets HF_ENDPOINT and vllm_server_hf_endpoint=%s sets it too: keep vllm_server_hf_endpoint '
                   '(playbooks/stage.yml downloads from it as well)' % _show(s['vllm_server_hf_endpoint']))
    bad_names = [n for n in names if not ENV_NAME_RE.match(n)]
    if bad_names:
        out.append('vllm_server_env name(s) %s must be letters, digits and _, not starting with a digit' % ', '.join(_show(n) for n in bad_names))
    bad_values = [str(k) for k, v in env.items() if isinstance(v, str) and re.search(r'[\x00-\x1f\x7f]', v)]
    if bad_values:
        out.append('vllm_server_env value(s) of %s carry control characters (a newline)' % ', '.join(bad_values))
    quoted = [str(k) for k, v in env.items() if '"' in str(v)]
    if quoted and not container:
        out.append('vllm_server_env value(s) of %s carry a double quote, which supervisord cannot read in a program\'s '
                   'environment (vllm_server_runtime=process)' % ', '.join(quoted))
    bad_ids = [i for i in ids if not GPU_ID_RE.match(str(i))]
    if bad_ids:
        out.append('vllm_server_gpus=%s: %s must be device indexes (0, 1, ...) or GPU/MIG UUIDs (GPU-..., MIG-...)'
                   % (_show(gpus), ', '.join(_show(i) for i in bad_ids)))
    elif ids and len(set(str(i) for i in ids)) != len(ids):
        out.append('vllm_server_gpus=%s lists a device id twice' % _show(gpus))
    shm = s['vllm_server_shm_size']
    if container and shm and not SHM_RE.match(shm):
        out.append('vllm_server_shm_size=%s must be a size such as 16g (digits and b, k, m or g)' % _show(shm))
    if not container and not PIP_RE.match(s['vllm_server_pip_spec']):
        out.append('vllm_server_pip_spec=%s must be one pip requirement (such as vllm==0.32.0), a wheel path or a URL, '
                   'without whitespace or shell syntax' % _show(s['vllm_server_pip_spec']))
    if int(s['vllm_server_health_timeout']) < 1:
        out.append('vllm_server_health_timeout=%s must be 1 or more seconds' % s['vllm_server_health_timeout'])
    unknown = [g for g in s['vllm_server_gateways'] if g not in inventory_hosts]
    if unknown:
        out.append('vllm_server_gateways=%s names host(s) not in the inventory: %s' % (_show(s['vllm_server_gateways']), ', '.join(unknown)))
    if s['vllm_server_log_level'] not in LOG_LEVELS:
        out.append('vllm_server_log_level=%s must be one of %s' % (_show(s['vllm_server_log_level']), ', '.join(LOG_LEVELS)))
    if 'VLLM_LOGGING_LEVEL' in env:
        out.append('vllm_server_env sets VLLM_LOGGING_LEVEL, which vllm_server sets itself: use vllm_server_log_level instead')
    if 'VLLM_CACHE_ROOT' in env and s['vllm_server_cache_dir']:
        out.append('vllm_server_env sets VLLM_CACHE_ROOT, which vllm_server sets from vllm_server_cache_dir: set that instead')
    bad_volumes = [v for v in s['vllm_server_volumes'] if not _volume_ok(v)]
    if bad_volumes:
        out.append('vllm_server_volumes item(s) %s must be host_path:container_path[:%s], both absolute paths without whitespace, '
                   'control characters or .. parts' % (', '.join(_show(v) for v in bad_volumes), '|'.join(VOLUME_OPTIONS)))
    taken = [v for v in s['vllm_server_volumes'] if _volume_ok(v) and str(v).split(':')[1].rstrip('/') in CTR_MANAGED]
    if taken:
        out.append('vllm_server_volumes item(s) %s land on a folder vllm_server mounts itself (%s): for vLLM\'s cache use '
                   'vllm_server_cache_dir, for the Hugging Face cache vllm_server_hf_cache_dir'
                   % (', '.join(_show(v) for v in taken), ', '.join(CTR_MANAGED)))
    bad_opts = [o for o in s['vllm_server_security_opts'] if not re.match(r'^[A-Za-z0-9_.:=/,-]+\Z', str(o))]
    if bad_opts:
        out.append('vllm_server_security_opts item(s) %s must be --security-opt values such as label=disable (no whitespace)'
                   % ', '.join(_show(o) for o in bad_opts))
    for name in ('vllm_server_volumes', 'vllm_server_security_opts'):
        if s[name] and not container:
            out.append('%s=%s is for containers; vllm_server_runtime=process runs no container' % (name, _show(s[name])))
    hooks = s['vllm_server_hooks_dir']
    if hooks and (s['vllm_server_runtime'] != 'podman' or not PATH_RE.match(hooks)):
        out.append('vllm_server_hooks_dir=%s is podman\'s --hooks-dir: an absolute path, with vllm_server_runtime=podman' % _show(hooks))
    bad_ulimits = [u for u in s['vllm_server_ulimits'] if not ULIMIT_RE.match(str(u))]
    if bad_ulimits:
        out.append('vllm_server_ulimits=%s must be a list of name=soft:hard (such as memlock=-1:-1)' % s['vllm_server_ulimits'])
    return out


def volume_host_path(volume):
    """The host side of a vllm_server_volumes entry (host_path:container_path[:options])."""
    return str(volume).split(':', maxsplit=1)[0]


def _volume_ok(volume):
    parts = str(volume).split(':')
    return (len(parts) in (2, 3) and all(PATH_RE.match(p) for p in parts[:2])
            and (len(parts) == 2 or all(o in VOLUME_OPTIONS for o in parts[2].split(','))))


def _serve_args(s, m, container, seen_secrets):
    runtime = s['vllm_server_runtime']
    args = [m['ref'],
            '--served-model-name=%s' % m['name'],
            '--host=%s' % ('0.0.0.0' if _published(s) else s['vllm_server_bind_address']),
            '--port=%s' % (8000 if _published(s) else s['vllm_server_port']),
            '--tensor-parallel-size=%s' % s['vllm_server_tensor_parallel_size'],
            '--pipeline-parallel-size=%s' % s['vllm_server_pipeline_parallel_size'],
            '--dtype=%s' % s['vllm_server_dtype']]
    if s['vllm_server_accelerator'] == 'nvidia':
        args.append('--gpu-memory-utilization=%s' % s['vllm_server_gpu_memory_utilization'])
    if int(s['vllm_server_max_model_len']) > 0:
        args.append('--max-model-len=%s' % s['vllm_server_max_model_len'])
    if s['vllm_server_quantization']:
        args.append('--quantization=%s' % s['vllm_server_quantization'])
    if s['vllm_server_api_key']:
        args += ['--config', seen_secrets + '/serve.yaml']
    if s['vllm_server_model_revision']:
        args.append('--revision=%s' % s['vllm_server_model_revision'])
    if group_node(s):
        args += server_group.argv(group_node(s))
    return args + [str(a) for a in s['vllm_server_extra_args']]


def _logging_config(level='INFO'):
    handler = {'formatter': 'vllm'}
    return json.dumps({
        'version': 1,
        'disable_existing_loggers': False,
        'formatters': {'vllm': {'class': 'logging.Formatter', 'format': '%(levelname)s %(asctime)s [%(filename)s:%(lineno)d] %(message)s',
                                'datefmt': '%Y-%m-%dT%H:%M:%S'}},
        'handlers': {'console': dict(handler, **{'class': 'logging.StreamHandler', 'stream': 'ext://sys.stdout'}),
                     'file': dict(handler, **{'class': 'logging.FileHandler', 'filename': CTR_LOG_DIR + '/server.log'})},
        'loggers': {'vllm': {'handlers': ['console', 'file'], 'level': level, 'propagate': False},
                    'uvicorn': {'handlers': ['console', 'file'], 'level': level, 'propagate': False}},
    }, indent=2) + '\n'


def node_model_path(s):
    """The model path to look for on the node: a container serves vllm_server_model from the node's disk (mounted
    read-only at the same path) when the node has it, else from the image. '' when there is none to look for."""
    m = model(s)
    # A path with a ':' cannot be a -v mount: it is taken as a path inside the image.
    return m['ref'] if is_container(s) and m['ref'][:1] == '/' and ':' not in m['ref'] and not m['staged'] else ''


def _container(s, release_dir, log_dir, node):
    runtime, nvidia, ids = s['vllm_server_runtime'], s['vllm_server_accelerator'] == 'nvidia', gpu_ids(s)
    gpus, devices = '', []
    if nvidia and runtime == 'docker':
        gpus = '"device=%s"' % ','.join(str(i) for i in ids) if ids else str(s['vllm_server_gpus'])
    if nvidia and runtime == 'podman':
        if ids:
            devices = ['nvidia.com/gpu=%s' % i for i in ids]
        elif str(s['vllm_server_gpus']) == 'all':
            devices = ['nvidia.com/gpu=all']
        elif _is_count(s['vllm_server_gpus']):
            devices = ['nvidia.com/gpu=%d' % i for i in range(int(s['vllm_server_gpus']))]
    volumes = ['%s/config:%s:ro' % (release_dir, CTR_CONFIG_DIR),
               '%s/secrets:%s:ro' % (release_dir, CTR_SECRETS_DIR),
               '%s:%s' % (log_dir, CTR_LOG_DIR),
               '%s:%s' % (s['vllm_server_hf_cache_dir'], CTR_HF_HOME)]
    if s['vllm_server_cache_dir']:
        volumes.append('%s:%s' % (s['vllm_server_cache_dir'], CTR_VLLM_CACHE))
    if s['vllm_server_model_source']:
        volumes.append('%s:%s:ro' % (s['vllm_server_model_dir'], s['vllm_server_model_dir']))
    elif node_model_path(s) and node.get('model_on_node'):
        path = node_model_path(s).rstrip('/')
        volumes.append('%s:%s:ro' % (path, path))
    volumes += [str(v) for v in s['vllm_server_volumes']]
    return {
        'image': s['vllm_server_image'],
        'volumes': volumes,
        'ports': ['%s:%s:8000' % (s['vllm_server_bind_address'], s['vllm_server_port'])] if _published(s) else [],
        'network': None if _published(s) else 'host',
        'gpus': gpus or None,
        'devices': devices,
        'ipc': 'host' if s['vllm_server_ipc_host'] else None,
        'shm_size': None if s['vllm_server_ipc_host'] else s['vllm_server_shm_size'],
        'ulimits': [str(u) for u in s['vllm_server_ulimits']],
        'restart_policy': s['vllm_server_restart_policy'],
        'security_opts': [str(o) for o in s['vllm_server_security_opts']],
        'hooks_dir': s['vllm_server_hooks_dir'] or None,
    }


def _cuda_visible_devices(s):
    """A process sees the GPUs of vllm_server_gpus through CUDA_VISIBLE_DEVICES (containers through the engine)."""
    if is_container(s) or s['vllm_server_accelerator'] != 'nvidia':
        return ''
    ids = gpu_ids(s)
    if ids:
        return ','.join(str(i) for i in ids)
    return ','.join(str(i) for i in range(int(s['vllm_server_gpus']))) if _is_count(s['vllm_server_gpus']) else ''


def build(s, model_source_signature='', node=None):
    """The spec of the server these settings run (settings that pass problems()).

    model_source_signature: what the staged folder on the controller holds (names, sizes, times),
    so that a folder whose files changed replaces the server.
    node: what the node said (vllm_probe): model_on_node, whether node_model_path() is there.
    """
    node = node or {}
    container = is_container(s)
    m = model(s)
    server_dir = '%s/%s' % (s['vllm_server_base_dir'].rstrip('/'), s['vllm_server_name'])
    releases_dir, log_dir = server_dir + '/releases', server_dir + '/logs'
    # The release folder's name is the fingerprint's start, which is known only once the rest is:
    # the paths inside the container are fixed, so only a process's argv names the release folder,
    # and it is derived from the fingerprint after it.
    env = dict((str(k), str(v) if not isinstance(v, str) else v) for k, v in s['vllm_server_env'].items())
    if s['vllm_server_hf_endpoint']:
        env['HF_ENDPOINT'] = s['vllm_server_hf_endpoint']
    if group_node(s):
        env.update(server_group.env(group_node(s)))
    secrets = {}
    if s['vllm_server_hf_token']:
        secrets['hf_token'] = _sha256(s['vllm_server_hf_token'])
    if s['vllm_server_api_key']:
        secrets['serve.yaml'] = _sha256(s['vllm_server_api_key'])
    config = {'logging.json': _logging_config(s['vllm_server_log_level'])} if container else {}
    what = {
        'layout': LAYOUT, 'name': s['vllm_server_name'], 'runtime': s['vllm_server_runtime'],
        'accelerator': s['vllm_server_accelerator'], 'model': m, 'model_source': model_source_signature,
        'settings_argv': _serve_args(s, m, container, '{secrets}'), 'env': env, 'secrets': secrets, 'config': config,
        # A node of a server across nodes: its group (the nodes, its rank, the leader's address); absent on one node.
        'dirs': [server_dir, s['vllm_server_hf_cache_dir'], s['vllm_server_model_dir'], s['vllm_server_cache_dir']],
        'container': _container(s, '{release}', log_dir, node) if container else None,
        'process': None if container else {
            'venv': s['vllm_server_venv'], 'pip_spec': s['vllm_server_pip_spec'], 'manager': s['vllm_server_process_manager'],
            'supervisor_conf_dir': s['vllm_server_supervisor_conf_dir'], 'supervisor_dir': s['vllm_server_supervisor_dir'],
            'restart': s['vllm_server_restart_policy'],
            'gpus': _cuda_visible_devices(s), 'log_level': s['vllm_server_log_level']},
    }
    if group_node(s):
        what['group'] = group_node(s)
    fingerprint = _sha256(_json(what))
    release_dir = '%s/%s' % (releases_dir, fingerprint[:12])
    seen_config = CTR_CONFIG_DIR if container else release_dir + '/config'
    seen_secrets = CTR_SECRETS_DIR if container else release_dir + '/secrets'
    environment = dict(env)
    if container:
        environment.update({'VLLM_CONFIGURE_LOGGING': '1', 'VLLM_LOGGING_CONFIG_PATH': seen_config + '/logging.json'})
    if s['vllm_server_hf_token']:
        environment['HF_TOKEN_PATH'] = seen_secrets + '/hf_token'
    environment['HF_HOME'] = CTR_HF_HOME if container else s['vllm_server_hf_cache_dir']
    if s['vllm_server_cache_dir']:
        environment['VLLM_CACHE_ROOT'] = CTR_VLLM_CACHE if container else s['vllm_server_cache_dir']
    if not container and s['vllm_server_log_level'] != 'INFO':
        environment['VLLM_LOGGING_LEVEL'] = s['vllm_server_log_level']
    if _cuda_visible_devices(s):
        environment['CUDA_VISIBLE_DEVICES'] = _cuda_visible_devices(s)
    spec = {
        'fingerprint': fingerprint,
        'release': fingerprint[:12],
        'name': s['vllm_server_name'],
        'previous_name': s['vllm_server_name'] + '-previous',
        'runtime': s['vllm_server_runtime'],
        'container': container,
        'image': s['vllm_server_image'] if container else s['vllm_server_pip_spec'],
        'model': m,
        # The staged folder's signature on the controller (names, sizes, times): the prepare step records it beside the copy.
        'model_source': model_source_signature,
        'local_url': local_url(s),
        'dir': server_dir,
        'releases_dir': releases_dir,
        'release_dir': release_dir,
        'log_dir': log_dir,
        'log_file': log_dir + '/server.log',
        'argv': _serve_args(s, m, container, seen_secrets),
        'env': environment,
        'config': config,
        # Folders the node must have before the start: the log folder, the cache, the host side of more mounts.
        'dirs': [log_dir, s['vllm_server_hf_cache_dir']] + ([s['vllm_server_cache_dir']] if s['vllm_server_cache_dir'] else [])
        + ([volume_host_path(v) for v in s['vllm_server_volumes']] if container else []),
        'secret_files': sorted(secrets),
        'gpus_used': gpus_used(s),
        'running_states': list(RUNNING_STATES),
        'engine': _container(s, release_dir, log_dir, node) if container else None,
        'node_model_path': node_model_path(s),
        'process': None,
    }
    if group_node(s):
        spec['group'] = group_node(s)
    if not container:
        executable = s['vllm_server_venv'].rstrip('/') + '/bin/vllm'
        supervisor = supervisor_paths(s['vllm_server_supervisor_dir'], s['vllm_server_supervisor_conf_dir'])
        spec['process'] = {
            'executable': executable,
            'venv': s['vllm_server_venv'],
            'pip_spec': s['vllm_server_pip_spec'],
            'unit_files': {'supervisor': '%s/%s.conf' % (supervisor['conf_dir'], s['vllm_server_name']),
                           'systemd': '/etc/systemd/system/%s.service' % s['vllm_server_name']},
            'files': {'supervisor': supervisor_program(spec, executable, s['vllm_server_restart_policy']),
                      'systemd': systemd_unit(spec, executable, s['vllm_server_restart_policy'])},
            'supervisord_config': supervisord_config(supervisor['conf_dir'], s['vllm_server_supervisor_dir']),
            'supervisor': supervisor,
            # The manager set; with a supervisord of the user's own, supervisord; else (auto) the one the probe finds.
            'manager': s['vllm_server_process_manager'] if s['vllm_server_process_manager'] != 'auto'
            else 'supervisor' if s['vllm_server_supervisor_dir'] else 'auto',
        }
    return spec


def _percent(text):
    """supervisord and systemd both expand %: a literal one is doubled."""
    return text.replace('%', '%%')


def _command(spec, executable):
    return _percent(' '.join(shlex.quote(a) for a in [executable, 'serve'] + spec['argv']))


def _header(spec, comment):
    # vllm_probe and the rollback read the fingerprint and the served model back from these lines.
    return ''.join('%s %s\n' % (comment, line) for line in (
        MANAGED, 'inferops.gpu_inference.vllm_server fingerprint %s' % spec['fingerprint'], 'served-model %s' % spec['model']['name']))


def _systemd_quoted(value):
    """systemd's Environment="..." (C escapes inside the quotes)."""
    return '"%s"' % _percent(value).replace('\\', '\\\\').replace('"', '\\"')


def _supervisor_quoted(value):
    """supervisord's environment=KEY="..." (read with a non-POSIX shlex: a backslash is a character, and a double quote
    cannot be given: problems() refuses it for a process)."""
    return '"%s"' % _percent(value)


def supervisor_program(spec, executable, restart_policy):
    """The supervisord program file of a process server."""
    env = ','.join('%s=%s' % (k, _supervisor_quoted(v)) for k, v in spec['env'].items())
    return _header(spec, ';') + '\n'.join([
        '[program:%s]' % spec['name'],
        'command=%s' % _command(spec, executable),
        'environment=%s' % env,
        'directory=%s' % _percent(spec['dir']),
        'autostart=true',
        'autorestart=%s' % ('false' if restart_policy == 'no' else 'true'),
        'startsecs=10',
        'stopwaitsecs=60',
        'stopasgroup=true',
        'killasgroup=true',
        'redirect_stderr=true',
        'stdout_logfile=%s' % _percent(spec['log_file']),
        'stdout_logfile_maxbytes=100MB',
        'stdout_logfile_backups=3',
    ]) + '\n'


def systemd_unit(spec, executable, restart_policy):
    """The systemd unit file of a process server."""
    lines = [
        '[Unit]',
        'Description=vLLM OpenAI-compatible server %s (%s)' % (spec['name'], _percent(spec['model']['name'])),
        'After=network-online.target',
        'Wants=network-online.target',
        '',
        '[Service]',
        'Type=simple',
        'WorkingDirectory=%s' % _percent(spec['dir']),
    ]
    lines += ['Environment=%s' % _systemd_quoted('%s=%s' % (k, v)) for k, v in spec['env'].items()]
    lines += [
        'ExecStart=%s' % _command(spec, executable),
        'Restart=%s' % ('no' if restart_policy == 'no' else 'on-failure'),
        'RestartSec=10',
        'TimeoutStopSec=60',
        'StandardOutput=append:%s' % _percent(spec['log_file']),
        'StandardError=append:%s' % _percent(spec['log_file']),
        '',
        '[Install]',
        'WantedBy=multi-user.target',
    ]
    return _header(spec, '#') + '\n'.join(lines) + '\n'


# The system's supervisord (Debian's package layout), or with vllm_server_supervisor_dir one of the
# user's own whose files are all in that folder (a user without root, as in a notebook lab).
SYSTEM_SUPERVISOR = {'config_file': '/etc/supervisor/supervisord.conf', 'socket': '/var/run/supervisor.sock',
                     'logfile': '/var/log/supervisord.log', 'pidfile': '/var/run/supervisord.pid', 'childlogdir': '/var/log'}


def supervisor_paths(own_dir, conf_dir):
    """Where supervisord's configuration, socket, logs and programs (conf_dir) are."""
    if not own_dir:
        return dict(SYSTEM_SUPERVISOR, conf_dir=conf_dir.rstrip('/'))
    d = own_dir.rstrip('/')
    return {'config_file': d + '/supervisord.conf', 'socket': d + '/supervisor.sock', 'logfile': d + '/supervisord.log',
            'pidfile': d + '/supervisord.pid', 'childlogdir': d, 'conf_dir': d + '/conf.d'}


def supervisord_config(conf_dir, own_dir=''):
    """supervisord's own configuration, written only where it had none (installed with pip, or a pod image's)."""
    p = supervisor_paths(own_dir, conf_dir)
    return '\n'.join([
        '; ' + MANAGED,
        '; Written only where supervisord had no configuration (installed with pip, or brought by a pod image);',
        "; Debian's package writes its own.",
        '[unix_http_server]',
        'file=%s' % _percent(p['socket']),
        'chmod=0700',
        '',
        '[supervisord]',
        'logfile=%s' % _percent(p['logfile']),
        'pidfile=%s' % _percent(p['pidfile']),
        'childlogdir=%s' % _percent(p['childlogdir']),
        '',
        '[rpcinterface:supervisor]',
        'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
        '',
        '[supervisorctl]',
        'serverurl=unix://%s' % _percent(p['socket']),
        '',
        '[include]',
        'files = %s/*.conf' % _percent(p['conf_dir']),
    ]) + '\n'


def model_source_signature(files):
    """What a model folder on the controller holds, from its listing (model_files.listing: each file's relative path,
    size and modification time): a hash, '' for no folder."""
    if files is None:
        return ''
    return _sha256('\n'.join('%s %d %d' % (name, size, mtime) for name, (size, mtime) in files.items()))
