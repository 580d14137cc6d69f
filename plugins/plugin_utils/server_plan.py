# -*- coding: utf-8 -*-
# Copyright: inferops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's plan for role vllm_server, on the controller: its settings read and checked, the server spec they build
(server_spec.py), the arguments of the one vllm_probe run on the node, the rules that need what the node said, and
whether the running server must be replaced.

Shared by the lookup inferops.gpu_inference.vllm_server_spec (the spec and its problems, for remove.yml and any
reader) and the action inferops.gpu_inference.vllm_server_plan (the role's validate step in one task per host).
"""
from __future__ import annotations

import json
import re

from ansible.plugins.loader import lookup_loader

from ansible_collections.inferops.gpu_inference.plugins.module_utils import model_files
from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import bench_report, role_variables, server_group, server_spec


class MissingSettings(ValueError):
    """Variables of the role that are not defined (the role's defaults define them)."""


def template_vars(names, variables, loader, templar):
    """These variables, templated. ansible.builtin.vars templates each as a task's variables are templated, on every
    ansible-core."""
    values = lookup_loader.get('ansible.builtin.vars', loader=loader, templar=templar).run(list(names), variables)
    return dict(zip(names, values))


def read_settings(variables, loader, templar):
    """The settings server_spec reads (server_spec.SETTINGS), templated and with the argument spec's types; for a node
    of a server across nodes (vllm_server_nodes), also its place in the group ('_node': server_group.node_of, the
    leader's address read from its host vars) and its inventory name ('_host')."""
    missing = [name for name in server_spec.SETTINGS if name not in variables]
    if missing:
        raise MissingSettings('vllm_server_spec: %s not defined (the role vllm_server defines them)' % ', '.join(missing))
    settings = server_spec.settings_of(template_vars(server_spec.SETTINGS, variables, loader, templar))
    host = variables.get('inventory_hostname', '')
    settings['_host'] = host
    group = server_group.nodes(settings)
    if group:
        leader = peer_settings(variables, group[0], settings) if group[0] != host else settings
        settings['_node'] = server_group.node_of(settings, host, leader['vllm_server_node_address'])
    return settings


def peer_settings(variables, peer, own):
    """Another node's settings as its host vars give them (templated for that host); a setting its inventory does not
    set is the role's default, as this node's."""
    theirs = ((variables.get('hostvars') or {}).get(peer)) or {}
    values = dict(own)
    for name in server_spec.SETTINGS:
        if name in theirs:
            values[name] = theirs[name]
    values = server_spec.settings_of(dict((name, values[name]) for name in server_spec.SETTINGS))
    values['_host'] = peer
    return values


def group_problems(settings, variables):
    """What differs between this node and the others of its server (none for a one-node server): checked on every node
    before any changes, so that a mismatch stops the whole group."""
    group = server_group.nodes(settings)
    if not group or settings['_host'] not in group:
        return []
    out = []
    # The hosts that run this task now: the play's, less --limit, and only this batch of a serial play.
    running = variables.get('ansible_play_batch')
    if running is not None:
        absent = [peer for peer in group if peer not in running]
        if absent:
            out.append('vllm_server_nodes=%s: %s %s not in this run (--limit, the play\'s hosts, or another batch of a serial '
                       'play such as redeploy.yml\'s); the nodes of a server across nodes change together'
                       % (group, ', '.join(absent), 'is' if len(absent) == 1 else 'are'))
    peers = dict((peer, peer_settings(variables, peer, settings)) for peer in group if peer != settings['_host'])
    return out + server_group.mismatches(settings, settings['_host'], peers)


def settings_problems(settings, variables):
    """The rules across settings, then any variable named vllm_server_* that the role does not have."""
    hosts = (variables.get('groups') or {}).get('all', [])
    problems = server_spec.problems(
        settings, hosts, bench_report.perf_gate_problems(settings['vllm_server_perf_gate'] or {}))
    problems += group_problems(settings, variables)
    # A mistyped setting would be ignored without a word (here rather than in a filter: one worker fewer that loads
    # every filter file of the collection, per host and run).
    return problems + role_variables.unknown(variables, 'vllm_server', server_spec.OUTPUTS)


def source_files(settings):
    """The staged model folder on the controller, listed once (model_files.listing): its fingerprint and, when asked,
    what a node's copy lacks are read from it. None when no folder is staged."""
    return model_files.listing(settings['vllm_server_model_source'])


def build(settings, node=None, signature=None):
    """The spec of settings that pass their problems (problems: []); signature: the staged model folder's, when known."""
    if signature is None:
        signature = server_spec.model_source_signature(source_files(settings))
    spec = server_spec.build(settings, signature, node or {})
    spec['problems'] = []
    return spec


def spec_for(variables, loader, templar, node=None):
    """What the lookup vllm_server_spec returns: the spec, or {'problems': [...]} when the settings break a rule."""
    settings = read_settings(variables, loader, templar)
    problems = settings_problems(settings, variables)
    if problems:
        return {'problems': problems}
    return build(settings, node)


def manager(settings, spec, probe=None):
    """What manages the server: the container engine, or for a process the manager set, else the one the probe found
    (systemd where it is PID 1, else supervisord). As vars/main.yml's _vllm_server_manager."""
    if spec['container']:
        return settings['vllm_server_runtime']
    if spec['process']['manager'] != 'auto':
        return spec['process']['manager']
    return (probe or {}).get('watch_kind')


def manifest_path(spec):
    """Where the prepare step records what a staged copy holds (the controller folder's signature), beside the copy."""
    return spec['model']['staged'] + '.inferops-staged.json' if spec['model']['staged'] else ''


def probe_args(settings, spec, nvidia_smi, model=False):
    """vllm_probe's arguments: what runs on the port now, its log, and (NVIDIA) the GPU count; the model path the
    server would read from the node, if any; a staged copy's files and the record of its last staging (the prepare
    step copies only when it differs); with model, also a path or a hub id looked for (model_presence reads them).
    The API key only when there is one (vllm_probe's argument spec marks it no_log: it is masked in what the module
    returns)."""
    container = spec['container']
    args = {
        'url': spec['local_url'],
        'served_model_name': spec['model']['name'],
        'log_file': spec['log_file'],
        # A process's manager is found on the node (systemd when it is PID 1, else supervisord) unless set.
        'watch_kind': settings['vllm_server_runtime'] if container else spec['process']['manager'].replace('auto', 'process'),
        'watch_name': settings['vllm_server_name'],
        'unit_files': {} if container else spec['process']['unit_files'],
    }
    if not container:
        args['supervisor_socket'] = spec['process']['supervisor']['socket']
    args['writable'] = writable_dirs(settings, spec)
    if settings['vllm_server_api_key']:
        args['api_key'] = settings['vllm_server_api_key']
    if settings['vllm_server_accelerator'] == 'nvidia' and nvidia_smi is not None:
        args['nvidia_smi'] = nvidia_smi
    node = server_spec.group_node(settings)
    if node:
        args['interface'] = settings['vllm_server_collective_ifname']
        if node['rank'] > 0:  # a follower: the leader's master port, where it joins the server
            args['reach'] = [master_target(node)]
    if spec['node_model_path']:
        args['model_path'] = spec['node_model_path']
    m = spec['model']
    if m['staged']:
        args.update(model_files=m['staged'], model_manifest=manifest_path(spec))
    elif model and m['is_path'] and not container:
        args['model_files'] = m['ref']
    elif model and not m['is_path']:
        args.update(hf_model=m['ref'], hf_home=settings['vllm_server_hf_cache_dir'], hf_revision=settings['vllm_server_model_revision'])
    return args


def writable_dirs(settings, spec):
    """The folders the deploy makes or writes on the node, by the setting that names them (the connecting user, or the
    become user, must be able to: a user without root running podman rootless sets them to folders of its own)."""
    out = {'vllm_server_base_dir': spec['dir'], 'vllm_server_hf_cache_dir': settings['vllm_server_hf_cache_dir']}
    if settings['vllm_server_cache_dir']:
        out['vllm_server_cache_dir'] = settings['vllm_server_cache_dir']
    if spec['model']['staged']:
        out['vllm_server_model_dir'] = settings['vllm_server_model_dir']
    if spec['container']:
        for index, volume in enumerate(settings['vllm_server_volumes']):
            out['vllm_server_volumes[%d]' % index] = server_spec.volume_host_path(volume)
    else:
        out['vllm_server_venv'] = settings['vllm_server_venv']
        if settings['vllm_server_supervisor_dir']:
            out['vllm_server_supervisor_dir'] = settings['vllm_server_supervisor_dir']
    return out


def wants_model_presence(spec, asked):
    """Whether the plan says what the node has of the model: when asked (the validate and stage entry points), and
    always for a staged copy (the prepare step reads it) and on a node of a server across nodes (each must have it
    before any starts)."""
    return bool(asked or spec['model']['staged'] or spec.get('group'))


def group_model_problems(spec, presence, host):
    """A node of a server across nodes must have the model before any node starts (a staged copy is copied by the
    deploy's own prepare step, before the start: it is not refused here)."""
    if not spec.get('group') or spec['model']['staged'] or presence.get('on_node') is not False:
        return []
    return ['the model %s is not on %s (%s), and every node of the server across nodes %s must have it before they start: '
            'run playbooks/stage.yml first' % (spec['model']['ref'], host, presence['where'], ', '.join(spec['group']['nodes']))]


def model_presence(settings, spec, probe, source):
    """Whether the node has the model these settings serve before their server starts, and where it is looked for:
    {'on_node': True, False or None (in the image: not the node's to have), 'where': ..., 'missing': [files]}. A staged
    copy is on the node when it is current: every file of the controller's folder there with its size, and the record
    of its last staging ('manifest', beside it) names that folder as it is now (names, sizes, times); else the prepare
    step copies it. source: the controller's staged folder (source_files); probe: vllm_probe's answer to probe_args."""
    m = spec['model']
    if m['staged']:
        wanted = model_files.sizes_of(source) or {}
        missing = model_files.differences(wanted, probe.get('model_files'))
        recorded = bool(spec['model_source']) and probe.get('model_manifest') == spec['model_source']
        where = 'staged copy %s' % m['staged']
        if not missing and not recorded:
            where += ' (not the controller folder as it is now: no record of staging it, or files changed there since)'
        return {'on_node': not missing and recorded, 'where': where, 'missing': missing[:5], 'manifest': manifest_path(spec)}
    if m['is_path'] and spec['container']:
        # A container serves the path from the node when the node has it, else from its image (not the node's to have).
        if spec['node_model_path'] and probe.get('model_on_node'):
            return {'on_node': True, 'where': 'folder %s' % m['ref'], 'missing': []}
        return {'on_node': None, 'where': '%s inside the image %s' % (m['ref'], spec['image']), 'missing': []}
    if m['is_path']:
        return {'on_node': bool(probe.get('model_files')), 'where': 'folder %s' % m['ref'], 'missing': []}
    return {'on_node': bool(probe.get('hf_cached')), 'missing': [],
            'where': 'Hugging Face cache %s, revision %s' % (settings['vllm_server_hf_cache_dir'], settings['vllm_server_model_revision'] or 'main')}


def master_target(node):
    """The leader's master address and port, as vllm_probe's reach takes it."""
    address = node['master_addr']
    return '%s:%d' % ('[%s]' % address if ':' in address else address, node['master_port'])


def reach_problems(node, found, host):
    """A follower that cannot open a connection to its leader's master port (refused is fine: nothing listens there
    before the server starts, but the leader's host answered)."""
    if not node or node['rank'] <= 0 or not found:
        return []
    target = master_target(node)
    answer = found.get(target)
    if answer in (None, 'open', 'refused'):
        return []
    return ['%s cannot reach its leader %s at %s (vllm_server_node_address of %s, vllm_server_master_port): %s. Open that port '
            'between the nodes (a firewall or a security group drops it), or give the address on the network between them'
            % (host, node['leader'], target, node['leader'], answer)]


def interface_problems(settings, found, host):
    """The collectives' interface on the node (vllm_probe's interface answer): there, and holding the node's address."""
    ifname, address = settings['vllm_server_collective_ifname'], settings['vllm_server_node_address']
    if not found:
        return []
    if not found.get('exists'):
        return ['vllm_server_collective_ifname=%s is not a network interface of %s (it has %s)'
                % (ifname, host, ', '.join(found.get('all') or []) or 'none')]
    if found.get('addresses') and not server_group.on_interface(address, found['addresses']):
        return ['vllm_server_node_address=%s is not an address of %s on %s (%s): the other nodes would connect to an address '
                'that is not its' % (address, ifname, host, ', '.join(found['addresses']))]
    return []


def _int(value):
    """Jinja's int filter: the integer a value reads as, else 0."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0


def host_problems(settings, spec, probe, host):
    """What the host lacks: the GPUs TP x PP needs and those vllm_server_gpus names (nvidia-smi's count), and the port,
    free or ours."""
    out = []
    nvidia = settings['vllm_server_accelerator'] == 'nvidia'
    tp, pp = settings['vllm_server_tensor_parallel_size'], settings['vllm_server_pipeline_parallel_size']
    need = _int(tp) * _int(pp)
    count = probe.get('gpu_count')
    node = server_spec.group_node(settings)
    if node:
        need = server_group.local_ranks(settings)
        if nvidia and need > _int(count):
            out.append('vllm_server_tensor_parallel_size=%s x vllm_server_pipeline_parallel_size=%s over %d nodes needs %s GPU(s) on each; '
                       'nvidia-smi on %s reports %s' % (tp, pp, node['nnodes'], need, host, count))
        out += interface_problems(settings, probe.get('interface'), host)
        out += reach_problems(node, probe.get('reach'), host)
    elif nvidia and need > _int(count):
        out.append('vllm_server_tensor_parallel_size=%s x vllm_server_pipeline_parallel_size=%s needs %s GPU(s); nvidia-smi on %s '
                   'reports %s' % (tp, pp, need, host, count))
    gpus = settings['vllm_server_gpus']
    ids = server_spec.gpu_ids(settings)
    if nvidia and ((ids and max(_int(i) for i in ids) >= _int(count))
                   or (re.match(r'^[0-9]+$', str(gpus)) and _int(gpus) > _int(count))):
        out.append('vllm_server_gpus=%s asks for GPU(s) that %s does not have: nvidia-smi reports %s (ids 0 to %s)'
                   % (json.dumps(gpus), host, count, _int(count) - 1))
    for name, (path, refused) in sorted((probe.get('unwritable') or {}).items()):
        # A folder that is there is only mounted or read (a shared cache, a venv of root's), except the server's own.
        if refused == path and name != 'vllm_server_base_dir':
            continue
        out.append('%s (%s): the user the role runs as on %s (ansible_user, or become_user) cannot %s %s; set %s to a folder '
                   'of its own (a user without root running podman rootless: docs/guides/003-podman-cdi-tp2.md), or become root'
                   % (name, path, host, 'write in' if refused == path else 'make folders in', refused, name.split('[')[0]))
    runtime = settings['vllm_server_runtime']
    if runtime in ('docker', 'podman') and probe.get('state') == '%s CLI not found' % runtime:
        out.append('vllm_server_runtime=%s: %s is not installed on %s; install it (playbooks/setup.yml with '
                   'gpu_host_setup_install_engines: true) or choose another runtime (docker, podman, process)' % (runtime, runtime, host))
    server = probe.get('server') or {}
    follower = bool(node) and node['rank'] > 0  # its URL is the leader's: the port is not on this node
    if probe.get('listening') and server.get('status') not in spec['running_states'] and not follower:
        out.append('vllm_server_port=%s on %s is in use on %s by something other than %s %s; choose a free port or stop what '
                   'listens there' % (settings['vllm_server_port'], settings['vllm_server_bind_address'], host,
                                      manager(settings, spec, probe), settings['vllm_server_name']))
    return out


def needs_deploy(spec, probe):
    """Whether the running server differs from the desired one (or none runs)."""
    server = probe.get('server') or {}
    return not (server.get('fingerprint') == spec['fingerprint'] and server.get('status') in spec['running_states'])


def outcome(spec, probe, replaced):
    """vllm_server_result as the role records it (vars/main.yml's _vllm_server_outcome with the outcome)."""
    return {'image': spec['image'], 'model': spec['model']['name'], 'fingerprint': spec['release'],
            'restarts': 0 if replaced else (probe.get('server') or {}).get('restarts', 0),
            'outcome': 'replaced' if replaced else 'unchanged'}
