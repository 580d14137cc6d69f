#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vllm_process
short_description: Replace or restore a vLLM server run by supervisord or systemd, in one run on the node
version_added: 0.2.0
description:
  - The process runtime's stop-then-start step of M(inferops.gpu_inference.vllm_server), as
    M(inferops.gpu_inference.vllm_container) is the containers' - in one module run on the node.
  - With O(state=started), it first checks what the node must have (O(executable), and for O(manager=supervisor)
    supervisord running or installed); when something is missing it returns RV(missing) and changes nothing, so that the role
    can install it and run the module again. Otherwise it starts supervisord where it does not run (its folders, and
    O(supervisord_config) where it has no configuration), lays out O(release), reads the current program or unit file
    (returned as RV(previous)), stops the running server (frees its GPUs and port), notes where O(log_file) ends,
    writes O(content) to O(unit_file) and starts the server.
  - With O(state=restored), it stops the failed server and puts O(previous) back and starts it, or removes
    O(unit_file) when O(previous) is empty (there was no server before).
  - With O(state=absent), it stops the server, removes O(unit_file) and has the manager forget it (changed only when
    the file was there).
  - supervisord is driven through its XML-RPC socket (C(/var/run/supervisor.sock), as Debian's package and
    M(inferops.gpu_inference.vllm_server) configure it), as C(supervisorctl) does; systemd through C(systemctl).
    Every command is an argument list; nothing goes through a shell.
extends_documentation_fragment:
  - inferops.gpu_inference.vllm_release
author:
  - inferops engineers (@inferops)
attributes:
  check_mode:
    support: full
    description: Reads the current file and what is missing, and changes nothing.
  diff_mode:
    support: none
    description: RV(previous) is the file before.
options:
  manager:
    description: What runs the server.
    type: str
    choices: [supervisor, systemd]
    required: true
  name:
    description: The supervisord program or systemd unit (letters, digits and C(. _ @ -)).
    type: str
    required: true
  unit_file:
    description: The program file (in supervisord's include folder) or unit file (C(/etc/systemd/system/<name>.service)).
    type: path
    required: true
  state:
    description: V(started) replaces the server with O(content); V(restored) puts O(previous) back; V(absent) removes it.
    type: str
    choices: [started, restored, absent]
    default: started
  content:
    description: The new program or unit file. Required with O(state=started).
    type: str
  previous:
    description: The file to put back with O(state=restored) (RV(previous) of the run that replaced it); empty, none.
    type: str
    default: ""
  executable:
    description: The program the server runs (such as C(<venv>/bin/vllm)); reported in RV(missing) when absent.
    type: path
  supervisord_config:
    description:
      - supervisord's configuration, written to O(supervisord_config_file) only where there is none, when
        supervisord does not run and is started by this module.
    type: str
  supervisord_config_file:
    description:
      - Where supervisord's configuration is (and is written when there is none); the system's by default, or a file in a
        folder of the user's own (a user without root; the role's C(vllm_server_supervisor_dir)).
      - supervisord is the one on the C(PATH), else the one beside O(executable) (installed with pip into the virtualenv).
      - When not given, C(/etc/supervisor/supervisord.conf).
    type: path
  supervisor_socket:
    description: supervisord's XML-RPC socket, as its configuration names it.
    type: path
    default: /var/run/supervisor.sock
  log_file:
    description: The server's log file; its size once the old server stopped is returned as RV(log_offset).
    type: path
"""

EXAMPLES = r"""
- name: Replace the server under supervisord
  inferops.gpu_inference.vllm_process:
    manager: supervisor
    name: vllm
    unit_file: /etc/supervisor/conf.d/vllm.conf
    content: "{{ lookup('ansible.builtin.template', 'supervisor.conf.j2') }}"
    executable: /opt/vllm/bin/vllm
    log_file: /var/lib/inferops/vllm/vllm/logs/server.log
  register: started

- name: Put the previous server back
  inferops.gpu_inference.vllm_process:
    manager: supervisor
    name: vllm
    unit_file: /etc/supervisor/conf.d/vllm.conf
    state: restored
    previous: "{{ started.previous }}"
"""

RETURN = r"""
missing:
  description: What the node lacks (V(executable), V(supervisord)); when not empty, nothing was changed.
  returned: always
  type: list
  elements: str
previous:
  description: The program or unit file before this run (empty when there was none).
  returned: with O(state=started), also when it fails
  type: str
set_aside:
  description: Whether a server was running from the previous file and was stopped.
  returned: with O(state=started)
  type: bool
root:
  description: Whether the module runs as root (the role installs what is missing with the package manager, else with pip).
  returned: when RV(missing) is not empty
  type: bool
supervisord_started:
  description: Whether supervisord did not run and was started.
  returned: with O(state=started)
  type: bool
log_offset:
  description: The size of O(log_file) once the old server stopped (0 when it does not exist); the new server's log starts there.
  returned: with O(state=started) and O(log_file)
  type: int
release:
  description: What laying out O(release) did - C(release_dir), C(changed_paths) (paths only) and C(pruned).
  returned: when O(release) is given
  type: dict
restored:
  description: Whether a previous server was put back (false when the file was removed).
  returned: with O(state=restored)
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.inferops.gpu_inference.plugins.module_utils.process_manager import (
    Manager, ProcessError, remove, replace, restore)
from ansible_collections.inferops.gpu_inference.plugins.module_utils.release import apply, release_spec
from ansible_collections.inferops.gpu_inference.plugins.module_utils.supervisor_rpc import SOCKET, Supervisor


def main():
    module = AnsibleModule(
        argument_spec=dict(
            manager=dict(type='str', required=True, choices=['supervisor', 'systemd']),
            name=dict(type='str', required=True),
            unit_file=dict(type='path', required=True),
            state=dict(type='str', default='started', choices=['started', 'restored', 'absent']),
            content=dict(type='str'),
            previous=dict(type='str', default=''),
            executable=dict(type='path'),
            supervisord_config=dict(type='str'),
            supervisord_config_file=dict(type='path'),
            supervisor_socket=dict(type='path', default=SOCKET),
            log_file=dict(type='path'),
            release=dict(type='dict', options=release_spec()),
        ),
        required_if=[('state', 'started', ['content'])],
        supports_check_mode=True,
    )
    p = module.params
    check = module.check_mode
    if p['state'] == 'started' and not p['content']:
        # required_if lets an empty or null content through: checked before the running server is stopped.
        module.fail_json(msg='%s: content is empty: the program or unit file to start the server with is needed '
                             '(nothing was stopped)' % p['name'])

    def run(argv):
        return module.run_command(argv)

    supervisor = Supervisor(p['supervisor_socket']) if p['manager'] == 'supervisor' else None
    try:
        manager = Manager(p['manager'], p['name'], p['unit_file'], run, check, supervisor)
    except ProcessError as exc:
        module.fail_json(msg=str(exc))

    if p['state'] == 'absent':
        try:
            running = p['manager'] == 'systemd' or manager.supervisord_running()
            module.exit_json(missing=[], **remove(manager, running))
        except (ProcessError, IOError, OSError) as exc:
            module.fail_json(msg='%s: could not remove the server: %s' % (p['name'], exc))

    if p['state'] == 'restored':
        try:
            result = restore(manager, p['previous'])
        except (ProcessError, IOError, OSError) as exc:
            module.fail_json(msg='%s: could not restore the previous server: %s' % (p['name'], exc))
        module.exit_json(changed=True, missing=[], **result)

    missing = []
    if p['executable'] and not os.access(p['executable'], os.X_OK):
        missing.append('executable')
    start_supervisord = p['manager'] == 'supervisor' and not manager.supervisord_running()
    # supervisord on the PATH, or installed with pip beside vLLM (a user without root).
    supervisord = module.get_bin_path('supervisord', opt_dirs=[os.path.dirname(p['executable'])] if p['executable'] else [])
    if start_supervisord and not supervisord:
        missing.append('supervisord')
    if missing:
        # Nothing changed yet: the role installs what is missing and runs this again. Check mode installs nothing, so
        # both runs find it missing: each says that the server would be started (changed).
        module.exit_json(changed=check, missing=missing, previous=manager.read(), set_aside=False,
                         supervisord_started=False, root=os.geteuid() == 0)

    # Read before anything changes: a failure below still returns the file a rollback puts back.
    result = dict(changed=True, missing=[], supervisord_started=False, previous=manager.read(), set_aside=False)
    try:
        if start_supervisord:
            manager.start_supervisord(p['supervisord_config'] or '', config_file=p['supervisord_config_file'], binary=supervisord)
            result['supervisord_started'] = True
        if p['release']:
            release = apply(p['release'], check)
            result['release'] = dict((k, release[k]) for k in ('release_dir', 'changed_paths', 'pruned'))
        result.update(replace(manager, p['content'], result['previous'], p['log_file']))
    except ValueError as exc:
        module.fail_json(msg='%s: could not lay out the release folder: %s' % (p['name'], exc), **result)
    except (ProcessError, IOError, OSError) as exc:
        module.fail_json(msg='%s: %s' % (p['name'], exc), **result)
    if not p['log_file']:
        result.pop('log_offset', None)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
