#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: vllm_container
short_description: Replace a vLLM server container - set the running one aside, stopped, and start the new one
version_added: 0.1.0
description:
  - The stop-then-start step of M(inferops.gpu_inference.vllm_server) for docker and podman, in one module run on
    the node. When a container named O(name) exists, an older container named O(set_aside) is removed, the
    running one is renamed O(set_aside) and stopped (kept, so that a rollback can rename it back and start it),
    freeing its GPUs and port; then the new container is started with C(run -d).
  - It always starts a new container; deciding whether one is needed (the settings fingerprint) is the role's
    job. Use M(community.docker.docker_container) or M(containers.podman.podman_container) to converge a
    container on its settings instead.
  - With O(state=restored) it rolls that back in the same way, in one run. The failed container's last log lines
    are kept (returned, and written to O(failed_log)), it is removed, and the container set aside as O(set_aside)
    is renamed back to O(name) and started. With an empty O(set_aside) only the failed one is removed.
  - With O(state=absent) it stops (within O(stop_timeout)) and removes the containers named O(name) and O(set_aside); a
    host without the O(runtime)'s CLI has none, and nothing is done.
  - GPUs are given the engine's way - docker's O(gpus) (the NVIDIA container toolkit), podman's CDI O(devices).
  - With O(release), it first lays out the server's release folder on the node (its configuration and secret
    files) in the same run, before any container is touched.
  - Do not put secrets in O(env) or O(command); pass them as files in O(release) and mount them read-only.
extends_documentation_fragment:
  - inferops.gpu_inference.vllm_release
author:
  - inferops engineers (@inferops)
attributes:
  check_mode:
    support: full
    description: Reports whether a container would be set aside and the C(run) arguments, and changes nothing.
  diff_mode:
    support: none
    description: Nothing to diff; the result has the C(run) arguments.
options:
  state:
    description:
      - V(started) replaces the server container with a new one; V(restored) puts the set-aside one back; V(absent)
        stops and removes both.
    type: str
    choices: [started, restored, absent]
    default: started
  failed_log:
    description: With O(state=restored), where on the node to write the failed container's last log lines.
    type: path
  runtime:
    description: The container engine's command.
    type: str
    choices: [docker, podman]
    default: docker
  name:
    description: The server container's name.
    type: str
    required: true
  set_aside:
    description:
      - The name the running container is renamed to before it is stopped, such as C(<name>-previous). An older
        container of that name is removed first.
      - If empty, a container named O(name) must not exist.
    type: str
    default: ""
  stop_timeout:
    description: Seconds the running server gets to shut down before it is killed.
    type: int
    default: 30
  log_file:
    description: The server's log file on the node; its size once the old server stopped is returned as RV(log_offset).
    type: path
  image:
    description: The image reference. Required with O(state=started).
    type: str
  pull:
    description: When the engine pulls the image.
    type: str
    choices: [missing, always, never]
    default: missing
  command:
    description: The arguments after the image (the image's entrypoint runs them).
    type: list
    elements: str
    default: []
  env:
    description: Environment variables. No secrets.
    type: dict
    default: {}
  volumes:
    description: Bind mounts as C(host:container[:options]).
    type: list
    elements: str
    default: []
  ports:
    description: Published ports as C([address:]host:container).
    type: list
    elements: str
    default: []
  network:
    description: The network mode, such as V(host).
    type: str
  gpus:
    description: Docker's C(--gpus) value - V(all), a count, or V("device=0,1").
    type: str
  devices:
    description: Devices, such as podman's CDI names V(nvidia.com/gpu=0).
    type: list
    elements: str
    default: []
  ipc:
    description: The IPC mode, such as V(host).
    type: str
  shm_size:
    description: Size of C(/dev/shm), such as V(16g).
    type: str
  ulimits:
    description: Resource limits as C(name=soft:hard).
    type: list
    elements: str
    default: []
  security_opts:
    description: C(--security-opt) values, such as V(label=disable) (SELinux hosts).
    type: list
    elements: str
    default: []
  hooks_dir:
    description: Podman's C(--hooks-dir) (OCI hooks, such as the NVIDIA toolkit's where CDI is not used). Podman only.
    type: path
  restart_policy:
    description: The restart policy.
    type: str
    choices: ["no", on-failure, always, unless-stopped]
  labels:
    description: Container labels.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Set the running server aside and start the new one
  inferops.gpu_inference.vllm_container:
    runtime: docker
    name: vllm
    set_aside: vllm-previous
    log_file: /var/lib/inferops/vllm/vllm/logs/server.log
    image: docker.io/vllm/vllm-openai:v0.11.0
    command: [meta-llama/Llama-3.1-8B-Instruct, --tensor-parallel-size=2]
    volumes: [/var/lib/inferops/hf-cache:/root/.cache/huggingface]
    ports: ["127.0.0.1:8000:8000"]
    gpus: all
    ipc: host
    restart_policy: unless-stopped
    labels:
      inferops.vllm_server.fingerprint: "{{ fingerprint }}"

- name: Roll back - remove the failed server, keep its log tail, put the previous one back and start it
  inferops.gpu_inference.vllm_container:
    runtime: docker
    name: vllm
    set_aside: vllm-previous
    state: restored
    failed_log: /var/lib/inferops/vllm/vllm/logs/failed.log
"""

RETURN = r"""
set_aside:
  description: Whether a running container was renamed to O(set_aside) and stopped.
  returned: with O(state=started)
  type: bool
removed:
  description: The containers stopped and removed (in check mode, those that would be).
  returned: with O(state=absent)
  type: list
  elements: str
restored:
  description: Whether the container set aside was renamed back and started.
  returned: with O(state=restored)
  type: bool
log_tail:
  description: The failed container's last log lines (stdout and stderr).
  returned: with O(state=restored)
  type: list
  elements: str
log_offset:
  description:
    - The size of O(log_file) once the old server stopped (0 when it does not exist); the new server's log starts there.
    - In check mode, its size now.
  returned: when O(log_file) is given
  type: int
container_id:
  description: The new container's id.
  returned: with O(state=started)
  type: str
release:
  description: What laying out O(release) did - C(release_dir), C(changed_paths) (paths only) and C(pruned).
  returned: when O(release) is given
  type: dict
args:
  description: The arguments given to the engine to start the new container.
  returned: with O(state=started)
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.inferops.gpu_inference.plugins.module_utils.container_cli import ContainerError, remove, replace, restore
from ansible_collections.inferops.gpu_inference.plugins.module_utils.release import apply, release_spec


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', default='started', choices=['started', 'restored', 'absent']),
            failed_log=dict(type='path'),
            runtime=dict(type='str', default='docker', choices=['docker', 'podman']),
            name=dict(type='str', required=True),
            set_aside=dict(type='str', default=''),
            stop_timeout=dict(type='int', default=30),
            log_file=dict(type='path'),
            image=dict(type='str'),
            pull=dict(type='str', default='missing', choices=['missing', 'always', 'never']),
            command=dict(type='list', elements='str', default=[]),
            env=dict(type='dict', default={}),
            volumes=dict(type='list', elements='str', default=[]),
            ports=dict(type='list', elements='str', default=[]),
            network=dict(type='str'),
            gpus=dict(type='str'),
            devices=dict(type='list', elements='str', default=[]),
            ipc=dict(type='str'),
            shm_size=dict(type='str'),
            ulimits=dict(type='list', elements='str', default=[]),
            security_opts=dict(type='list', elements='str', default=[]),
            hooks_dir=dict(type='path'),
            restart_policy=dict(type='str', choices=['no', 'on-failure', 'always', 'unless-stopped']),
            labels=dict(type='dict', default={}),
            release=dict(type='dict', options=release_spec()),
        ),
        required_if=[('state', 'started', ['image'])],
        supports_check_mode=True,
    )
    p = module.params
    if p['hooks_dir'] and p['runtime'] != 'podman':
        module.fail_json(msg='%s: hooks_dir is podman\'s --hooks-dir; docker has none' % p['name'])
    engine = module.get_bin_path(p['runtime'], required=p['state'] != 'absent')
    if not engine:
        # No engine on the node: no container of it to remove.
        module.exit_json(changed=False, removed=[], msg='%s is not installed on this host: no container to remove' % p['runtime'])

    def run(argv):
        return module.run_command([engine] + argv)

    if p['state'] == 'absent':
        try:
            module.exit_json(**remove(run, [p['name'], p['set_aside']], p['stop_timeout'], module.check_mode))
        except ContainerError as exc:
            module.fail_json(msg='%s: %s' % (p['name'], exc))

    if p['state'] == 'restored':
        try:
            result = restore(run, p['name'], p['set_aside'], check_mode=module.check_mode)
            # No log folder: the release was never laid out (the failure was there), so nothing ran to log.
            if p['failed_log'] and not module.check_mode and os.path.isdir(os.path.dirname(p['failed_log'])):
                with open(p['failed_log'], 'w') as handle:
                    handle.write('\n'.join(result['log_tail']) + '\n')
        except (ContainerError, IOError, OSError) as exc:
            module.fail_json(msg='%s: %s' % (p['name'], exc))
        module.exit_json(**result)

    def log_size():
        return os.path.getsize(p['log_file']) if os.path.exists(p['log_file']) else 0

    release = None
    if p['release']:
        try:
            release = apply(p['release'], module.check_mode)
        except (ValueError, IOError, OSError) as exc:
            module.fail_json(msg='%s: could not lay out the release folder: %s' % (p['name'], exc))
    try:
        result = replace(run, p, p['set_aside'], p['stop_timeout'], log_size if p['log_file'] else None,
                         module.check_mode)
    except ContainerError as exc:
        module.fail_json(msg='%s: %s' % (p['name'], exc))
    if release is not None:
        result['release'] = dict((k, release[k]) for k in ('release_dir', 'changed_paths', 'pruned'))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
