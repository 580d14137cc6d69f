#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: runpod_pod
short_description: Create, stop, resume and terminate RunPod pods, idempotently by name
version_added: 0.1.0
description:
  - Manages one RunPod pod through RunPod's REST API (C(https://rest.runpod.io/v1), bearer authentication), found by
    its O(name) (pods that are terminated do not count). Two live pods with the same name are an error that lists
    their ids.
  - V(running) (or V(present)) creates the pod when missing, resumes it when stopped, and waits until it runs with
    its public IP and every TCP port mapped; V(stopped) stops it; V(absent) terminates it.
  - A create that fails after the API made the pod leaves nothing half-made - the pod is terminated and its id
    reported.
  - API errors (status and the API's message), rate limiting (429, retried after Retry-After) and a wait that times
    out each fail with a clear message. The API key is never printed.
  - Runs on the controller (a play on localhost, or delegated to it).
author:
  - inferops engineers (@inferops)
attributes:
  check_mode:
    support: full
    description: Reports what it would do without calling the API's write endpoints.
  diff_mode:
    support: none
    description: No diff.
options:
  name:
    description: The pod's name, unique among your live pods.
    type: str
    required: true
  state:
    description: What the pod must be.
    type: str
    choices: [running, present, stopped, absent]
    default: running
  image:
    description: Container image (for example C(vllm/vllm-openai:v0.32.0)). Required to create.
    type: str
  gpu_type:
    description: RunPod GPU type id, such as C(NVIDIA H100 80GB HBM3), C(NVIDIA L40S), C(NVIDIA RTX 6000 Ada Generation).
    type: str
  gpu_count:
    description: GPUs in the pod; pass the same number as C(--tensor-parallel-size) in O(docker_args).
    type: int
    default: 1
  container_disk_gb:
    description: Container disk in GB.
    type: int
    default: 50
  volume_gb:
    description: Pod volume in GB (0 for none).
    type: int
    default: 0
  volume_mount_path:
    description: Where the volume is mounted.
    type: str
    default: /workspace
  ports:
    description:
      - Exposed ports as C(port/http) (through RunPod's HTTPS proxy) or C(port/tcp) (mapped to a public port of
        the pod's public IP, returned in C(pod.port_mappings)); C(22/tcp) gives SSH. vLLM's port is TCP by default
        so that a gateway (role C(vllm_gateway)) reaches it directly.
    type: list
    elements: str
    default: ["8000/tcp", "22/tcp"]
  env:
    description: Environment variables (not secrets).
    type: dict
    default: {}
  secret_env:
    description: Environment variables that are secrets (for example C(HF_TOKEN)); never printed.
    type: dict
    default: {}
  docker_args:
    description: Arguments for the image's entrypoint, such as the C(vllm serve) arguments.
    type: list
    elements: str
    default: []
  cloud_type:
    description: C(SECURE) or C(COMMUNITY) cloud.
    type: str
    choices: [SECURE, COMMUNITY, ALL]
    default: SECURE
  wait:
    description: Wait until the pod runs with its ports mapped (V(running)).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 900
  poll_interval:
    description: Seconds between reads while waiting.
    type: float
    default: 5
  api_key:
    description: RunPod API key; the C(RUNPOD_API_KEY) environment variable by default.
    type: str
  api_url:
    description:
      - The API's base URL; the C(RUNPOD_API_URL) environment variable by default (as for the inventory plugin),
        else C(https://rest.runpod.io/v1).
    type: str
"""

EXAMPLES = r"""
- name: A 2 x H100 pod serving a 70B AWQ model with TP 2
  inferops.gpu_inference.runpod_pod:
    name: vllm-h100x2-1
    image: vllm/vllm-openai:v0.32.0
    gpu_type: NVIDIA H100 80GB HBM3
    gpu_count: 2
    volume_gb: 200
    secret_env:
      HF_TOKEN: "{{ lookup('ansible.builtin.env', 'HF_TOKEN') }}"
    docker_args: [--model, meta-llama/Llama-3.1-70B-Instruct-AWQ, --tensor-parallel-size, "2"]
  delegate_to: localhost
  register: pod

- name: Terminate it
  inferops.gpu_inference.runpod_pod:
    name: vllm-h100x2-1
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
pod:
  description: The pod (id, name, status, image, gpu_type, gpu_count, public_ip, ssh_host, ssh_port, port_mappings, cost_per_hr).
  returned: when the pod exists
  type: dict
operation:
  description: What was done - created, resumed, stopped, terminated or none.
  returned: always
  type: str
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule, env_fallback
from ansible_collections.inferops.gpu_inference.plugins.module_utils.provider_answers import BadAnswer, quoted
from ansible_collections.inferops.gpu_inference.plugins.module_utils.runpod_api import (
    Client, RunPodError, DEFAULT_URL, SECRET_NAME, pod_problems, summary, EXITED, RUNNING, TERMINATED, TOKEN_ENV)


def find(client, name):
    live = [p for p in client.pods() if isinstance(p, dict) and p.get('name') == name and p.get('desiredStatus') != TERMINATED]
    if len(live) > 1:
        raise RunPodError('%d live pods are named %s (ids %s); names must be unique for runpod_pod' % (
            len(live), name, ', '.join(p['id'] for p in live)))
    return live[0] if live else None


def ready(pod, ports):
    if pod.get('desiredStatus') != RUNNING or not pod.get('publicIp'):
        return False
    mapped = dict((str(k), v) for k, v in (pod.get('portMappings') or {}).items())
    return all(p.split('/')[0] in mapped for p in ports if p.endswith('/tcp'))


def wait_running(module, client, pod):
    p = module.params
    deadline = time.time() + p['wait_timeout']
    while True:
        pod = client.pod(pod['id'])
        if ready(pod, p['ports']):
            return pod
        if time.time() >= deadline:
            module.fail_json(msg='pod %s (%s) did not run with its ports mapped within %d s: status %s, public IP %s, mappings %s' % (
                p['name'], quoted(pod.get('id')), p['wait_timeout'], quoted(pod.get('desiredStatus')), quoted(pod.get('publicIp')),
                quoted(pod.get('portMappings'))), pod=summary(pod), operation='waited')
        time.sleep(p['poll_interval'])


def create(module, client):
    p = module.params
    spec = {'name': p['name'], 'imageName': p['image'], 'gpuCount': p['gpu_count'], 'gpuTypeIds': [p['gpu_type']],
            'containerDiskInGb': p['container_disk_gb'], 'volumeInGb': p['volume_gb'], 'volumeMountPath': p['volume_mount_path'],
            'ports': p['ports'], 'env': dict(p['env'], **p['secret_env']), 'cloudType': p['cloud_type'],
            'dockerStartCmd': p['docker_args'], 'supportPublicIp': True}
    try:
        return client.create_pod(spec)
    except RunPodError as exc:
        # The API may have made the pod before it failed: terminate it rather than leave it half-made.
        try:
            leftover = find(client, p['name'])
        except RunPodError:
            leftover = None
        if leftover:
            try:
                client.delete_pod(leftover['id'])
                module.fail_json(msg='creating pod %s failed (%s); the half-made pod %s was terminated' % (
                    p['name'], exc, leftover['id']), operation='cleaned up')
            except RunPodError as exc2:
                module.fail_json(msg='creating pod %s failed (%s) and the half-made pod %s could not be terminated (%s): '
                                     'terminate it by hand' % (p['name'], exc, leftover['id'], exc2), operation='left', pod_id=leftover['id'])
        raise


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            state=dict(type='str', default='running', choices=['running', 'present', 'stopped', 'absent']),
            image=dict(type='str'),
            gpu_type=dict(type='str'),
            gpu_count=dict(type='int', default=1),
            container_disk_gb=dict(type='int', default=50),
            volume_gb=dict(type='int', default=0),
            volume_mount_path=dict(type='str', default='/workspace'),
            ports=dict(type='list', elements='str', default=['8000/tcp', '22/tcp']),
            env=dict(type='dict', default={}),
            secret_env=dict(type='dict', default={}, no_log=True),
            docker_args=dict(type='list', elements='str', default=[]),
            cloud_type=dict(type='str', default='SECURE', choices=['SECURE', 'COMMUNITY', 'ALL']),
            wait=dict(type='bool', default=True),
            wait_timeout=dict(type='int', default=900),
            poll_interval=dict(type='float', default=5),
            api_key=dict(type='str', no_log=True),
            api_url=dict(type='str', fallback=(env_fallback, ['RUNPOD_API_URL'])),
        ),
        supports_check_mode=True,
    )
    p = module.params
    # Before any API call. A secret-looking env value is masked in what the module returns (it is refused).
    problems = pod_problems(p, required=())
    if problems:
        env = p['env'] if isinstance(p['env'], dict) else {}
        module.no_log_values.update(str(v) for k, v in env.items() if v and SECRET_NAME.search(str(k)))
        module.fail_json(msg='Invalid runpod_pod settings: %s' % '; '.join(problems), operation='none')
    token = p['api_key'] or next((os.environ[k] for k in TOKEN_ENV if os.environ.get(k)), None)
    pod, action = None, 'none'
    try:
        client = Client(token, p['api_url'] or DEFAULT_URL)
        pod = find(client, p['name'])
        state = 'running' if p['state'] == 'present' else p['state']
        if state == 'absent':
            if not pod:
                module.exit_json(changed=False, operation='none')
            if not module.check_mode:
                client.delete_pod(pod['id'])
            action = 'terminated'
            module.exit_json(changed=True, operation='terminated', pod=summary(pod))
        if state == 'stopped':
            if not pod:
                module.fail_json(msg='no live pod named %s to stop' % p['name'], operation='none')
            if pod.get('desiredStatus') == EXITED:
                module.exit_json(changed=False, operation='none', pod=summary(pod))
            if not module.check_mode:
                pod = client.stop_pod(pod['id']) or pod
            action = 'stopped'
            module.exit_json(changed=True, operation='stopped', pod=summary(pod))
        if not pod:
            problems = [n for n in ('image', 'gpu_type') if not p[n]]
            if problems:
                module.fail_json(msg='to create pod %s, give %s' % (p['name'], ' and '.join(problems)), operation='none')
            if p['gpu_count'] < 1:
                module.fail_json(msg='gpu_count=%d must be 1 or more' % p['gpu_count'], operation='none')
            if module.check_mode:
                module.exit_json(changed=True, operation='created')
            pod, action = create(module, client), 'created'
        elif pod.get('desiredStatus') != RUNNING:
            if module.check_mode:
                module.exit_json(changed=True, operation='resumed', pod=summary(pod))
            pod, action = client.start_pod(pod['id']) or pod, 'resumed'
        if p['wait'] and not module.check_mode and not ready(pod, p['ports']):
            pod = wait_running(module, client, pod)
        module.exit_json(changed=action != 'none', operation=action, pod=summary(pod), api_requests=client.requests)
    except RunPodError as exc:
        module.fail_json(msg=str(exc), status=exc.status, operation='failed')
    except BadAnswer as exc:
        # Its name, address and ports would become an inventory host and ssh options (provision.yml adds it).
        # The pod may have been made, stopped or resumed before the answer was read: say so, with its id.
        module.fail_json(msg='RunPod answered for pod %s with %s: not used' % (p['name'], exc), operation='failed',
                         changed=action != 'none' and not module.check_mode,
                         pod_id=pod.get('id') if isinstance(pod, dict) and isinstance(pod.get('id'), str) else None)


if __name__ == '__main__':
    main()
