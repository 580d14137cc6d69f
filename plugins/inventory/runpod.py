# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: runpod
short_description: RunPod pods as an inventory
version_added: 0.1.0
description:
  - Lists your pods through RunPod's REST API (bearer authentication) and makes a host of each, reachable over
    its public SSH port mapping (C(ansible_host) is the public IP, C(ansible_port) the port mapped to 22).
  - Host variables C(runpod_id), C(runpod_status), C(runpod_gpu_type), C(runpod_gpu_count), C(runpod_public_ip),
    C(runpod_ssh_port), C(runpod_port_mappings), C(runpod_image), C(runpod_cost_per_hr).
  - Every pod also gets C(inferops_runtime=process), since a pod is a container without systemd or Docker; role
    C(vllm_server) then runs vLLM from a virtualenv under supervisord there (C(compose) can override it).
  - RunPod's answer is checked before it makes hosts - a pod is left out, with one warning naming it, the field and
    the value, when its name is not 1 to 63 letters, digits, C(.), C(_) or C(-) (the rule M(inferops.gpu_inference.runpod_pod)
    applies), its public IP is not an IP address, a port mapping is not a port from 1 to 65535, or it is not an object at
    all; the other pods still make hosts. Answers over 8 MiB, and pages that never end, fail the source naming the API.
  - Running pods with an SSH mapping go to O(group) (C(gpu_nodes) by default); C(compose), C(groups) and
    C(keyed_groups) work as in the constructed plugin; answers can be cached.
  - The configuration file's name must end with C(runpod.yml) or C(runpod.yaml).
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - constructed
  - inventory_cache
options:
  plugin:
    description: The name of this plugin.
    type: str
    required: true
    choices: [inferops.gpu_inference.runpod]
  api_key:
    description: RunPod API key.
    type: str
    env:
      - name: RUNPOD_API_KEY
      - name: RUNPOD_API_TOKEN
  api_url:
    description: The API's base URL.
    type: str
    default: https://rest.runpod.io/v1
    env:
      - name: RUNPOD_API_URL
  statuses:
    description: Only pods in these states become hosts.
    type: list
    elements: str
    default: [RUNNING]
  name_pattern:
    description: Only pods whose name matches this regular expression.
    type: str
    default: ""
  group:
    description: The group running pods with an SSH mapping join.
    type: str
    default: gpu_nodes
  ansible_user:
    description: SSH user on the pods.
    type: str
    default: root
  timeout:
    description: Seconds per API request.
    type: int
    default: 30
"""

EXAMPLES = r"""
# inventories/fleet/runpod.yml
plugin: inferops.gpu_inference.runpod
statuses: [RUNNING]
keyed_groups:
  - key: runpod_gpu_type | regex_replace('[^A-Za-z0-9]+', '_')
    prefix: gpu
  - key: runpod_gpu_count | string
    prefix: gpus
groups:
  pods: 'true'
compose:
  vllm_server_tensor_parallel_size: runpod_gpu_count
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/inferops-runpod
cache_timeout: 300
"""

import re

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.inferops.gpu_inference.plugins.module_utils.provider_answers import BadAnswer, item_label, new_host_name
from ansible_collections.inferops.gpu_inference.plugins.module_utils.runpod_api import Client, RunPodError, summary


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = 'inferops.gpu_inference.runpod'

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(('runpod.yml', 'runpod.yaml'))

    def _pods(self, cache):
        key = self.get_cache_key(self._path)
        use_cache = self.get_option('cache') and cache
        if use_cache:
            try:
                return self._cache[key]
            except KeyError:
                pass
        try:
            client = Client(self.get_option('api_key'), self.get_option('api_url'), timeout=self.get_option('timeout'))
            pods = client.pods()
        except RunPodError as exc:
            raise AnsibleParserError('RunPod inventory (%s): %s' % (self.get_option('api_url'), exc))
        if self.get_option('cache'):
            self._cache[key] = pods
        return pods

    def _left_out(self, index, pod, exc):
        self.display.warning('RunPod inventory (%s): pod %d, %s, left out: %s' % (self.get_option('api_url'), index, item_label(pod), exc))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        self._path = path
        self._read_config_data(path)
        pattern = self.get_option('name_pattern')
        try:
            name_re = re.compile(pattern) if pattern else None
        except re.error as exc:
            raise AnsibleParserError('RunPod inventory: name_pattern=%r is not a regular expression: %s' % (pattern, exc))
        statuses = set(self.get_option('statuses'))
        strict = self.get_option('strict')
        group = self.get_option('group')
        pods = []
        for index, pod in enumerate(self._pods(cache)):
            # Pods the configuration leaves out anyway are left out before their check (no warning for them).
            if isinstance(pod, dict) and isinstance(pod.get('desiredStatus'), str) and (pod['desiredStatus'] not in statuses or not (
                    name_re is None or (isinstance(pod.get('name'), str) and name_re.search(pod['name'])))):
                continue
            # A provider's answer is input: each pod is checked before it makes a host; a bad one is left out.
            try:
                pods.append(summary(pod))
            except BadAnswer as exc:
                self._left_out(index, pod, exc)
        names = [info['name'] or info['id'] for info in pods]
        if group:
            self.inventory.add_group(group)
        made = {}
        for index, info in enumerate(pods):
            host = info['name'] or info['id']
            if names.count(host) > 1:
                host = '%s-%s' % (host, info['id'])
            try:
                new_host_name(host, self.inventory, 'name')
            except BadAnswer as exc:
                self._left_out(index, info, exc)
                continue
            try:
                self._add(host, wrap_var(info), group, strict)
                made[host] = (index, info)
            except Exception as exc:  # one pod may not fail the source: a name that is also a group made for it, say
                if host in self.inventory.hosts:
                    self.inventory.remove_host(self.inventory.hosts[host])
                self._left_out(index, info, BadAnswer('name', host, 'cannot be a host of this inventory: %s' % str(exc)[:200]))
        # A pod listed before the pod whose keyed group takes its name (gpus_1, say) passed new_host_name then.
        for host, (index, info) in made.items():
            if host in self.inventory.groups and host in self.inventory.hosts:
                self.inventory.remove_host(self.inventory.hosts[host])
                self._left_out(index, info, BadAnswer('name', host, 'is also the name of a group of this inventory'))

    def _add(self, host, info, group, strict):
        """One pod as a host (info: its checked summary; values from the API are data, never templates)."""
        self.inventory.add_host(host)
        hostvars = dict(('runpod_%s' % k, v) for k, v in info.items() if k not in ('name', 'ssh_host'))
        hostvars['inferops_runtime'] = 'process'
        if info['ssh_host']:
            hostvars.update(ansible_host=info['ssh_host'], ansible_port=info['ssh_port'], ansible_user=self.get_option('ansible_user'))
            if group and info['status'] == 'RUNNING':
                self.inventory.add_child(group, host)
        for key, value in hostvars.items():
            self.inventory.set_variable(host, key, value)
        variables = self.inventory.get_host(host).get_vars()
        self._set_composite_vars(self.get_option('compose'), variables, host, strict=strict)
        self._add_host_to_composed_groups(self.get_option('groups'), variables, host, strict=strict)
        self._add_host_to_keyed_groups(self.get_option('keyed_groups'), variables, host, strict=strict)
