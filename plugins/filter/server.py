# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
name: vllm_server_model
short_description: The model a vllm_server serves - its served name and the id or path it loads
version_added: 0.4.0
description:
  - The rule the role C(inferops.gpu_inference.vllm_server) serves a model by, for the roles and playbooks that talk to
    the server (C(vllm_bench) takes its model name and tokenizer from it) - a staged folder (C(vllm_server_model_source))
    is served by its path under C(vllm_server_model_dir); the served name is C(vllm_server_served_model_name), else the
    last part of the id or path.
  - Takes the C(vllm_server_*) model settings that are set; the others are the role's defaults.
  - The same file has the filters that read a server across nodes (C(vllm_server_nodes), in rank order, the first the
    leader) from the hosts' variables - C(hosts | inferops.gpu_inference.server_units(hostvars)), the hosts as servers
    (each group's nodes together in rank order, every other host alone - the units a rolling redeploy replaces whole), and
    C(hosts | inferops.gpu_inference.serving_nodes(hostvars)), the hosts but the followers (the nodes a gateway routes
    to and a benchmark runs on), and C(inventory_hostname | inferops.gpu_inference.server_leader(vllm_server_nodes)),
    the leader a follower serves through (empty for a leader or a one-node server), C(inventory_hostname |
    inferops.gpu_inference.server_nodes(vllm_server_nodes)), the nodes of the host's server (itself alone for a one-node
    server), and C(hosts | inferops.gpu_inference.whole_servers(hostvars)), the hosts with every node of their servers.
author:
  - inferops engineers (@inferops)
options:
  _input:
    description: Any of C(vllm_server_model), C(vllm_server_model_source), C(vllm_server_model_dir), C(vllm_server_served_model_name).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: The served name and the tokenizer path
  ansible.builtin.debug:
    msg: "{{ {'vllm_server_model_source': '/srv/llama'} | inferops.gpu_inference.vllm_server_model }}"
"""

RETURN = r"""
_value:
  description: C(name) (served name), C(ref) (the id or path loaded), C(staged) (the staged path or empty), C(is_path).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.inferops.gpu_inference.plugins.plugin_utils import server_group, server_spec


def vllm_server_model(settings):
    if not isinstance(settings, dict):
        raise AnsibleFilterError('vllm_server_model takes a dict of vllm_server_* settings, not %s' % type(settings).__name__)
    unknown = sorted(set(settings) - set(server_spec.MODEL_SETTINGS))
    if unknown:
        raise AnsibleFilterError('vllm_server_model: %s not among %s' % (', '.join(unknown), ', '.join(server_spec.MODEL_SETTINGS)))
    given = dict((k, '' if v is None else str(v)) for k, v in settings.items())
    return server_spec.model(dict(server_spec.model_defaults(), **given))


def server_units(hosts, hostvars):
    """The hosts as servers: each server across nodes (vllm_server_nodes) as its nodes in rank order, every other host
    alone (see plugin_utils/server_group.units)."""
    hosts = [str(h) for h in hosts or []]
    return server_group.units(hosts, server_group.hostvars_nodes(hosts, hostvars))


def server_leader(host, nodes):
    """The leader of the server across nodes ``nodes`` (vllm_server_nodes) when ``host`` is a follower of it, else ''."""
    return server_group.leader_of(host, nodes)


def server_nodes(host, nodes):
    """The nodes of the server ``host`` runs: its server across nodes' (vllm_server_nodes, in rank order), else
    [host]."""
    return server_group.server_of(host, nodes)


def whole_servers(hosts, hostvars):
    """The hosts with every node of each server across nodes one of them belongs to (see server_group.whole)."""
    hosts = [str(h) for h in hosts or []]
    return server_group.whole(hosts, server_group.hostvars_nodes(hosts, hostvars))


def serving_nodes(hosts, hostvars):
    """The hosts that serve an API: every one but the followers of a server across nodes (its leader serves it)."""
    hosts = [str(h) for h in hosts or []]
    return server_group.serving(hosts, server_group.hostvars_nodes(hosts, hostvars))


class FilterModule(object):
    def filters(self):
        return {'vllm_server_model': vllm_server_model, 'server_units': server_units, 'serving_nodes': serving_nodes,
                'server_leader': server_leader, 'server_nodes': server_nodes, 'whole_servers': whole_servers}
