#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vllm_probe
short_description: Probe a vLLM server on the node - health, served models, start-up stage, liveness
version_added: 0.1.0
description:
  - Asks C(/health) and C(/v1/models) of a vLLM OpenAI-compatible server from the node itself, reads
    the server's start-up stage from its log file, and checks that its container, supervisord program
    or systemd unit is still alive.
  - With O(wait) above 0 it keeps probing, for at most that many seconds, until the server is ready,
    its stage changes, or it died; M(inferops.gpu_inference.vllm_wait) calls it in a loop to show progress.
  - Python standard library only on the node.
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - inferops.gpu_inference.attributes.read_only
options:
  url:
    description: Base URL of the server as seen from the node.
    type: str
    default: http://127.0.0.1:8000
  served_model_name:
    description: The model name C(/v1/models) must list for the server to count as ready.
    type: str
    required: true
  api_key:
    description: API key sent as a bearer token.
    type: str
  wait:
    description:
      - Seconds to keep probing until ready, a new stage or death; 0 probes once.
      - A new stage ends the wait once it has held for a second, so that stages that follow each other quickly
        (the last ones, just before the server answers) come back in one result (RV(stages)).
    type: int
    default: 0
  stage:
    description: The stage the caller last saw; a later one ends the wait.
    type: str
  smoke_tests:
    description:
      - Once the server is ready, send these smoke tests in the same run (as M(inferops.gpu_inference.vllm_smoke)
        does), so that a health gate costs one module run; the outcome is RV(smoke). Empty sends none.
    type: list
    elements: str
    choices: [completion, chat, stream]
    default: []
  smoke_prompt:
    description: The smoke tests' prompt.
    type: str
    default: The capital of France is
  smoke_max_tokens:
    description: Tokens each smoke test asks for.
    type: int
    default: 8
  smoke_temperature:
    description: The smoke tests' sampling temperature (tiny random test models answer only whitespace at 0).
    type: float
    default: 1.0
  smoke_sequential:
    description: Send the smoke tests one after the other (each one's C(seconds) its own) instead of at once.
    type: bool
    default: false
  metrics:
    description:
      - Also read the server's C(/metrics) once it answers C(/health) (the Prometheus text, as C(curl /metrics) shows it),
        into RV(metrics).
    type: bool
    default: false
  log_file:
    description: The server's log file on the node, read for the start-up stage and the tail.
    type: path
  log_offset:
    description: Read the log from this byte offset (where this start's lines begin).
    type: int
    default: 0
  watch_kind:
    description:
      - What runs the server, to tell a dead server from a slow one.
      - V(process) is systemd where it runs as PID 1 (C(/run/systemd/system) exists), else supervisord; RV(watch_kind)
        says which.
    type: str
    choices: [docker, podman, supervisor, systemd, process, none]
    default: none
  watch_name:
    description: Container name, supervisord program or systemd unit.
    type: str
  supervisor_socket:
    description: supervisord's XML-RPC socket (O(watch_kind=supervisor)); the system's by default, or that of a user's own
      supervisord (the role's C(vllm_server_supervisor_dir)).
    type: path
    default: /var/run/supervisor.sock
  unit_files:
    description:
      - The supervisord program file (key C(supervisor)) and systemd unit file (key C(systemd)) that
        M(inferops.gpu_inference.vllm_server) writes; the one of the manager found is read for the settings
        fingerprint of the running process. Containers carry theirs as a label.
    type: dict
    default: {}
  timeout:
    description: Timeout of each HTTP request in seconds.
    type: int
    default: 5
  model_path:
    description:
      - A model folder the server would read from the node; RV(model_on_node) says whether the node has it.
    type: str
  model_files:
    description:
      - A model folder on the node whose files and sizes RV(model_files) lists (a staged copy, compared with the
        controller's folder by M(inferops.gpu_inference.vllm_server)'s plan).
    type: str
  model_manifest:
    description:
      - The record a staging run left beside a staged copy, what the controller's folder held when it was copied
        (C(vllm_server)'s prepare step writes it after the copy). RV(model_manifest) is its C(signature), empty when
        there is none or it cannot be read.
    type: str
  hf_model:
    description:
      - A Hugging Face model id (C(org/name)) looked for in the hub cache under O(hf_home); RV(hf_cached) says whether a
        snapshot with weights is there (of O(hf_revision)).
    type: str
  interface:
    description:
      - A network interface looked for (the collectives' of a server across nodes); RV(interface) says whether the node
        has it and its IPv4 addresses.
    type: str
  reach:
    description:
      - TCP addresses (V(host:port), V([v6]:port)) this node opens a connection to, each within 3 seconds (the leader's of
        a server across nodes, from a follower); RV(reach) says how each answered. A refused connection reached the
        host (nothing listens there yet); a timeout or an unreachable network did not.
    type: list
    elements: str
    default: []
  hf_revision:
    description:
      - The revision of O(hf_model) looked for - a commit id, or a branch or tag that a download recorded in the cache's
        C(refs/). Empty is V(main) (or, in a cache without C(refs/main), the newest snapshot).
    type: str
    default: ''
  hf_home:
    description: The Hugging Face cache folder on the node (C(HF_HOME)), for O(hf_model).
    type: str
  writable:
    description:
      - Folders the server will make or write, by the setting that names them (C(vllm_server_base_dir) to a path);
        RV(unwritable) lists those the user this runs as could not make or write.
    type: dict
    default: {}
  nvidia_smi:
    description:
      - Also count the GPUs with this C(nvidia-smi) (a path, or a name looked up as
        M(inferops.gpu_inference.nvidia_smi_info) does), in the same run; RV(gpu_count) then holds the count.
      - Fails, naming it, when it is missing or cannot talk to the driver.
    type: str
"""

EXAMPLES = r"""
- name: Is the server up?
  inferops.gpu_inference.vllm_probe:
    url: http://127.0.0.1:8000
    served_model_name: llama-3.1-8b
    watch_kind: docker
    watch_name: vllm
  register: probe
"""

RETURN = r"""
watch_kind:
  description: What runs the server as the probe looked at it (O(watch_kind=process) resolved to V(systemd) or V(supervisor)).
  returned: always
  type: str
ready:
  description: C(/health) answered 200 and C(/v1/models) lists O(served_model_name).
  returned: always
  type: bool
health:
  description: HTTP status of C(/health), or null when nothing answered.
  returned: always
  type: int
models:
  description: Model ids that C(/v1/models) lists.
  returned: always
  type: list
  elements: str
stage:
  description: >-
    Latest start-up stage from the log (starting, loading weights, weights loaded, compiling, profiling memory,
    capturing graphs, starting API server, startup complete, failed), or null.
  returned: always
  type: str
listening:
  description: Whether anything accepts TCP connections on the URL's host and port.
  returned: always
  type: bool
alive:
  description: Whether the container, program or unit still runs (null when O(watch_kind=none)).
  returned: always
  type: bool
state:
  description: What the engine, supervisord or systemd said of it.
  returned: always
  type: str
error:
  description: The last exception in the log tail, with its explanation, when the server is not ready.
  returned: always
  type: str
log_tail:
  description: The last 40 lines of this start's log, when the server is not ready.
  returned: always
  type: list
  elements: str
log_size:
  description: The size of O(log_file) in bytes (0 when it is missing or not given), where a next start's log would begin.
  returned: always
  type: int
server:
  description: What runs now, as M(inferops.gpu_inference.vllm_server) left it (empty when nothing is watched).
  returned: always
  type: dict
  contains:
    status:
      description: Container status (running, restarting, exited...), supervisord state or systemd state.
      type: str
    restarts:
      description: How often the engine restarted the container (its restart policy); 0 for a process.
      type: int
    fingerprint:
      description: The settings fingerprint the server was deployed with, or an empty string.
      type: str
    image:
      description: The container's image, or an empty string for a process.
      type: str
    model:
      description: The served model name the server was deployed with (containers), or an empty string.
      type: str
stages:
  description: The start-up stages this start's log shows, in the order reached.
  returned: always
  type: list
  elements: str
smoke:
  description:
    - The smoke tests' outcome, when the server was ready and O(smoke_tests) were given - C(tests) (per test
      C(ok), C(status), C(tokens), C(text), C(seconds), C(error)), C(failed) (the names of those that failed),
      C(message) (what failed, or null) and C(sample_response) (the chat test's response JSON).
    - The probe itself does not fail when a smoke test does.
  returned: when the server was ready and O(smoke_tests) were given
  type: dict
metrics:
  description:
    - The server's C(/metrics) - C(status) (the HTTP status, null when nothing answered), C(text) (the Prometheus text;
      empty unless the status was 200) and C(error) (why not, or null).
  returned: when O(metrics=true) and C(/health) answered 200
  type: dict
model_on_node:
  description: Whether O(model_path) is a folder on the node.
  returned: when model_path is given
  type: bool
model_files:
  description: The files under O(model_files) and their sizes (relative path to bytes); null when it is not a folder.
  returned: when model_files is given
  type: dict
model_manifest:
  description: The C(signature) in O(model_manifest), empty when there is none.
  returned: when model_manifest is given
  type: str
unwritable:
  description: Of O(writable), those refused, by setting, as [the folder, the folder that refuses it (it, or its nearest
    existing parent)].
  returned: when writable is given
  type: dict
  sample: {"vllm_server_base_dir": ["/var/lib/inferops/vllm/vllm", "/var/lib"]}
interface:
  description: Of O(interface) - C(exists), C(addresses) (its IPv4 addresses, secondary ones too where the node has C(ip)) and
    C(all) (the node's interfaces).
  returned: when interface is given
  type: dict
  sample: {"exists": true, "addresses": ["10.118.0.3"], "all": ["eth0", "eth1", "lo"]}
reach:
  description: Of O(reach), by address - V(open), V(refused) (the host answered, nothing listens), V(timeout), or the error.
  returned: when reach is given
  type: dict
  sample: {"10.118.0.3:29501": "refused"}
hf_cached:
  description: Whether the hub cache under O(hf_home) holds a snapshot of O(hf_model) at O(hf_revision) with weights.
  returned: when hf_model is given
  type: bool
gpu_count:
  description: The GPUs nvidia-smi reports (with O(nvidia_smi) only).
  returned: when nvidia_smi is given
  type: int
  sample: 2
elapsed:
  description: Seconds this call waited.
  returned: always
  type: float
"""

import json
import os
import re
import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.inferops.gpu_inference.plugins.module_utils.supervisor_rpc import SOCKET, Supervisor, SupervisorError
from ansible_collections.inferops.gpu_inference.plugins.module_utils.openai_api import (
    Client, ApiError, SMOKE_MAX_TOKENS, SMOKE_PROMPT, SMOKE_TEMPERATURE, SMOKE_TESTS, smoke)
from ansible_collections.inferops.gpu_inference.plugins.module_utils.vllm_log import last_error, read_from, stages_of
from ansible_collections.inferops.gpu_inference.plugins.module_utils.hf_hub import cached_snapshot
from ansible_collections.inferops.gpu_inference.plugins.module_utils.model_files import manifest_signature, sizes
from ansible_collections.inferops.gpu_inference.plugins.module_utils.release import unwritable
from ansible_collections.inferops.gpu_inference.plugins.module_utils.nvidia_smi import NvidiaSmiError, gpu_count, resolve_executable


FINGERPRINT_LABEL = 'inferops.vllm_server.fingerprint'
MODEL_LABEL = 'inferops.vllm_server.model'
# Seconds a new stage must hold before it ends a wait (see the wait option).
STAGE_SETTLE = 1.0
FINGERPRINT_LINE = re.compile(r'inferops\.gpu_inference\.vllm_server fingerprint ([0-9a-f]+)')


def inspect_server(module, kind, name, fingerprint_file=None, supervisor_socket=SOCKET):
    """(alive, state, server): alive None when unknown; server describes what runs now."""
    server = dict(status='', restarts=0, fingerprint='', image='', model='')
    if kind == 'none' or not name:
        return None, None, server
    if kind in ('docker', 'podman'):
        exe = module.get_bin_path(kind)
        if not exe:
            return None, '%s CLI not found' % kind, server
        rc, out, err = module.run_command([exe, 'container', 'inspect', name])
        if rc != 0:
            server['status'] = 'absent'
            return False, 'no container %s' % name, server
        info = (json.loads(out) or [{}])[0]
        labels = (info.get('Config') or {}).get('Labels') or {}
        state = info.get('State') or {}
        server.update(status=state.get('Status') or ('running' if state.get('Running') else 'unknown'),
                      restarts=int(info.get('RestartCount') or 0), fingerprint=labels.get(FINGERPRINT_LABEL, ''),
                      image=(info.get('Config') or {}).get('Image') or info.get('ImageName') or '',
                      model=labels.get(MODEL_LABEL, ''))
        if server['restarts']:
            return False, '%s after %d restart(s)' % (server['status'], server['restarts']), server
        return server['status'] == 'running', server['status'], server
    if fingerprint_file and os.path.isfile(fingerprint_file):
        with open(fingerprint_file) as handle:
            match = FINGERPRINT_LINE.search(handle.read())
        server['fingerprint'] = match.group(1) if match else ''
    if kind == 'supervisor':
        try:
            state = Supervisor(supervisor_socket, timeout=10).state(name)
        except SupervisorError as exc:
            state = 'UNREACHABLE (supervisord: %s)' % exc
        server['status'] = state
        return state in ('RUNNING', 'STARTING'), state, server
    rc, out, err = module.run_command(['systemctl', 'is-active', name])
    state = (out or err).strip()
    server['status'] = state
    return state in ('active', 'activating', 'reloading'), state, server


def listening(client):
    try:
        sock = socket.create_connection((client.host, client.port), timeout=2)
    except (socket.error, OSError):
        return False
    sock.close()
    return True


def interface_of(name, run_command=None, ip=None):
    """Whether the node has the network interface name, its IPv4 addresses (`ip -4 -o addr show dev` where the node has
    ip, which lists the secondary ones too; else the primary one, SIOCGIFADDR) and every interface."""
    try:
        found = sorted(os.listdir('/sys/class/net'))
    except OSError:
        found = []
    out = {'exists': name in found, 'addresses': [], 'all': found}
    if not out['exists']:
        return out
    if ip and run_command:
        rc, stdout, dummy = run_command([ip, '-4', '-o', 'addr', 'show', 'dev', name])
        if rc == 0:
            out['addresses'] = addresses_of(stdout)
            return out
    import fcntl  # pylint: disable=import-outside-toplevel
    import struct  # pylint: disable=import-outside-toplevel
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        # SIOCGIFADDR: the interface's (primary) IPv4 address.
        answer = fcntl.ioctl(sock.fileno(), 0x8915, struct.pack('256s', name.encode('utf-8')[:15]))
        out['addresses'] = [socket.inet_ntoa(answer[20:24])]
    except (IOError, OSError):
        pass
    finally:
        sock.close()
    return out


def reach(targets, timeout=3.0):
    """How each TCP address ("host:port", "[v6]:port") answers a connection from this node: open, refused (the host
    answered: nothing listens there yet), timeout (dropped on the way: a firewall, a security group), or the error."""
    out = {}
    for target in targets:
        host, dummy, port = target.rpartition(':')
        host = host[1:-1] if host.startswith('[') and host.endswith(']') else host
        try:
            conn = socket.create_connection((host, int(port)), timeout=timeout)
            conn.close()
            out[target] = 'open'
        except ConnectionRefusedError:
            out[target] = 'refused'
        except socket.timeout:
            out[target] = 'timeout'
        except (OSError, ValueError) as exc:
            out[target] = str(getattr(exc, 'strerror', None) or exc)
    return out


def addresses_of(ip_output):
    """The IPv4 addresses in `ip -4 -o addr show` output ("2: eth1    inet 10.118.0.3/20 brd ... scope global eth1")."""
    return re.findall(r'\binet ([0-9.]+)/', ip_output)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type='str', default='http://127.0.0.1:8000'),
            served_model_name=dict(type='str', required=True),
            api_key=dict(type='str', no_log=True),
            wait=dict(type='int', default=0),
            stage=dict(type='str'),
            log_file=dict(type='path'),
            log_offset=dict(type='int', default=0),
            watch_kind=dict(type='str', default='none',
                            choices=['docker', 'podman', 'supervisor', 'systemd', 'process', 'none']),
            watch_name=dict(type='str'),
            supervisor_socket=dict(type='path', default=SOCKET),
            unit_files=dict(type='dict', default={}),
            timeout=dict(type='int', default=5),
            smoke_tests=dict(type='list', elements='str', choices=list(SMOKE_TESTS), default=[]),
            smoke_prompt=dict(type='str', default=SMOKE_PROMPT),
            smoke_max_tokens=dict(type='int', default=SMOKE_MAX_TOKENS, no_log=False),
            smoke_temperature=dict(type='float', default=SMOKE_TEMPERATURE),
            smoke_sequential=dict(type='bool', default=False),
            metrics=dict(type='bool', default=False),
            nvidia_smi=dict(type='str'),
            model_path=dict(type='str'),
            model_files=dict(type='str'),
            model_manifest=dict(type='str'),
            hf_model=dict(type='str'),
            hf_home=dict(type='str'),
            hf_revision=dict(type='str', default=''),
            interface=dict(type='str'),
            reach=dict(type='list', elements='str', default=[]),
            writable=dict(type='dict', default={}),
        ),
        supports_check_mode=True,
    )
    p = module.params
    gpus = {'model_on_node': os.path.isdir(p['model_path'])} if p['model_path'] else {}
    if p['model_files']:
        gpus['model_files'] = sizes(p['model_files'])
    if p['model_manifest']:
        gpus['model_manifest'] = manifest_signature(p['model_manifest'])
    if p['writable']:
        refused = unwritable(sorted(set(p['writable'].values())))
        gpus['unwritable'] = dict((name, [path, refused[path]]) for name, path in p['writable'].items() if path in refused)
    if p['interface']:
        gpus['interface'] = interface_of(p['interface'], module.run_command, module.get_bin_path('ip'))
    if p['reach']:
        gpus['reach'] = reach(p['reach'])
    if p['hf_model'] and p['hf_home']:
        gpus['hf_cached'] = bool(cached_snapshot(p['hf_home'], p['hf_model'], p['hf_revision']))
    if p['nvidia_smi']:
        # The GPU count in the same run (vllm_server's validation reads the node once).
        path = resolve_executable(module.get_bin_path, p['nvidia_smi'])
        if not path:
            module.fail_json(msg='nvidia-smi not found (vllm_server_nvidia_smi=%s): install the NVIDIA driver on this host, '
                                 'or set vllm_server_nvidia_smi to where nvidia-smi is' % p['nvidia_smi'], reason='nvidia_smi_missing')
        try:
            gpus['gpu_count'] = gpu_count(lambda args: module.run_command([path] + list(args), environ_update={'LC_ALL': 'C'}))
        except NvidiaSmiError as exc:
            module.fail_json(msg=str(exc), reason='nvidia_smi_' + exc.reason)
    try:
        client = Client(p['url'], p['api_key'], p['timeout'])
    except ApiError as exc:
        module.fail_json(msg=str(exc))
    kind = p['watch_kind']
    if kind == 'process':
        kind = 'systemd' if os.path.isdir('/run/systemd/system') else 'supervisor'
    fingerprint_file = p['unit_files'].get(kind)
    start = inspected = time.time()
    alive = state = server = new_stage_at = None
    while True:
        health = client.health()
        models = client.models()[1] if health == 200 else []
        ready = health == 200 and p['served_model_name'] in models
        text = read_from(p['log_file'], p['log_offset'])[0] if p['log_file'] else ''
        lines = text.splitlines()
        stages = stages_of(lines)
        stage = stages[-1] if stages else None
        if stage and stage != p['stage'] and new_stage_at is None:
            new_stage_at = time.time()
        # Asking the engine or manager costs a CLI run: at most every 2 s while waiting, and
        # always on the last pass, so that what is returned is current.
        if server is None or ready or time.time() - inspected >= 2:
            alive, state, server = inspect_server(module, kind, p['watch_name'], fingerprint_file, p['supervisor_socket'])
            inspected = time.time()
        elapsed = time.time() - start
        if (ready or alive is False or elapsed >= p['wait'] or stage == 'failed'
                or (new_stage_at is not None and time.time() - new_stage_at >= STAGE_SETTLE)):
            break
        time.sleep(0.1)
    tail = lines[-40:]
    if alive is False and p['watch_kind'] in ('docker', 'podman') and p['watch_name']:
        # A crash's traceback goes to stderr, which only the engine's log has.
        rc, out, err = module.run_command([module.get_bin_path(p['watch_kind']), 'logs', '--tail', '40', p['watch_name']])
        tail = (out + err).splitlines()[-40:] or tail
    # The whole start's log: exit noise (nanobind leak reports) can follow the traceback by more than a tail.
    error = None if ready else (last_error(lines) or last_error(tail))
    # A traceback's first line can be in the log before its exception line: give it a moment.
    settle = time.time() + 5
    while not ready and error is None and stage == 'failed' and p['log_file'] and time.time() < settle:
        time.sleep(0.5)
        lines = read_from(p['log_file'], p['log_offset'])[0].splitlines()
        tail = lines[-40:]
        error = last_error(lines)
    log_size = os.path.getsize(p['log_file']) if p['log_file'] and os.path.isfile(p['log_file']) else 0
    extra = {}
    if ready and p['smoke_tests']:
        # In the same run as the health gate: one module run fewer between the first answer and the verdict.
        extra['smoke'] = smoke(Client(p['url'], p['api_key'], 120), p['smoke_tests'], p['served_model_name'],
                               p['smoke_prompt'], p['smoke_max_tokens'], p['smoke_temperature'],
                               sequential=p['smoke_sequential'])
    if p['metrics'] and health == 200:
        status, text = client.metrics()
        extra['metrics'] = {'status': status, 'text': text if status == 200 else '',
                            'error': None if status == 200 else 'HTTP %s: %s' % (status, str(text)[:300])}
    module.exit_json(changed=False, watch_kind=kind, ready=ready, error=error, health=health, listening=health is not None or listening(client),
                     log_size=log_size, models=models, stage=stage, stages=stages, alive=alive,
                     state=state, server=server, log_tail=[] if ready else tail, elapsed=round(elapsed, 2), **dict(extra, **gpus))


if __name__ == '__main__':
    main()
