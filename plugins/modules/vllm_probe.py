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
    description: Seconds to keep probing until ready, a stage change or death; 0 probes once.
    type: int
    default: 0
  stage:
    description: The stage the caller last saw; a change from it ends the wait.
    type: str
  log_file:
    description: The server's log file on the node, read for the start-up stage and the tail.
    type: path
  log_offset:
    description: Read the log from this byte offset (where this start's lines begin).
    type: int
    default: 0
  watch_kind:
    description: What runs the server, to tell a dead server from a slow one.
    type: str
    choices: [docker, podman, supervisor, systemd, none]
    default: none
  watch_name:
    description: Container name, supervisord program or systemd unit.
    type: str
  timeout:
    description: Timeout of each HTTP request in seconds.
    type: int
    default: 5
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
elapsed:
  description: Seconds this call waited.
  returned: always
  type: float
"""

import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.inferops.gpu_inference.plugins.module_utils.openai_api import Client, ApiError
from ansible_collections.inferops.gpu_inference.plugins.module_utils.vllm_log import last_error, read_from, stage_of


def liveness(module, kind, name):
    """(alive, state): alive None when unknown."""
    if kind == 'none' or not name:
        return None, None
    if kind in ('docker', 'podman'):
        exe = module.get_bin_path(kind)
        if not exe:
            return None, '%s CLI not found' % kind
        rc, out, err = module.run_command([exe, 'inspect', '--format', '{{.State.Status}} {{.RestartCount}}', name])
        if rc != 0:
            return False, 'no container %s' % name
        parts = out.split()
        status, restarts = parts[0], int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if restarts:
            return False, '%s after %d restart(s)' % (status, restarts)
        return status == 'running', status
    if kind == 'supervisor':
        exe = module.get_bin_path('supervisorctl')
        rc, out, err = module.run_command([exe or 'supervisorctl', 'status', name])
        state = (out.split() + ['UNKNOWN', 'UNKNOWN'])[1]
        return state in ('RUNNING', 'STARTING'), state
    rc, out, err = module.run_command(['systemctl', 'is-active', name])
    state = (out or err).strip()
    return state in ('active', 'activating', 'reloading'), state


def listening(client):
    try:
        sock = socket.create_connection((client.host, client.port), timeout=2)
    except (socket.error, OSError):
        return False
    sock.close()
    return True


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
            watch_kind=dict(type='str', default='none', choices=['docker', 'podman', 'supervisor', 'systemd', 'none']),
            watch_name=dict(type='str'),
            timeout=dict(type='int', default=5),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        client = Client(p['url'], p['api_key'], p['timeout'])
    except ApiError as exc:
        module.fail_json(msg=str(exc))
    start = time.time()
    while True:
        health = client.health()
        models = client.models()[1] if health == 200 else []
        ready = health == 200 and p['served_model_name'] in models
        text = read_from(p['log_file'], p['log_offset'])[0] if p['log_file'] else ''
        lines = text.splitlines()
        stage = stage_of(lines)
        alive, state = liveness(module, p['watch_kind'], p['watch_name'])
        elapsed = time.time() - start
        if ready or alive is False or elapsed >= p['wait'] or (stage and stage != p['stage']):
            break
        time.sleep(0.5)
    tail = lines[-40:]
    if alive is False and p['watch_kind'] in ('docker', 'podman') and p['watch_name']:
        # A crash's traceback goes to stderr, which only the engine's log has.
        rc, out, err = module.run_command([module.get_bin_path(p['watch_kind']), 'logs', '--tail', '40', p['watch_name']])
        tail = (out + err).splitlines()[-40:] or tail
    error = None if ready else last_error(tail)
    # A traceback's first line can be in the log before its exception line: give it a moment.
    settle = time.time() + 5
    while not ready and error is None and stage == 'failed' and p['log_file'] and time.time() < settle:
        time.sleep(0.5)
        tail = read_from(p['log_file'], p['log_offset'])[0].splitlines()[-40:]
        error = last_error(tail)
    module.exit_json(changed=False, ready=ready, error=error, health=health, listening=health is not None or listening(client),
                     models=models, stage=stage, alive=alive,
                     state=state, log_tail=[] if ready else tail, elapsed=round(elapsed, 2))


if __name__ == '__main__':
    main()
