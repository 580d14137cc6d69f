#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: gpu_host_info
short_description: Gather what a GPU inference node's preflight needs, in one pass
version_added: 0.1.0
description:
  - Collects, on the node and in one module run, the observations the
    P(inferops.gpu_inference.gpu_host_check#role) role judges
    on the controller; it judges nothing itself.
  - OS release and kernel; GPU facts from one C(nvidia-smi) query (as
    M(inferops.gpu_inference.nvidia_smi_info) reads them), or why nvidia-smi could not answer;
    the dcgm-exporter systemd unit and its metrics endpoint's raw text; docker and podman
    presence, docker runtimes, CDI specs that list C(nvidia.com/gpu); free space on the model
    cache path; the size of C(/dev/shm); optionally the DigitalOcean C(do-agent) unit.
  - Only reads; never changes the host.
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - inferops.gpu_inference.attributes.read_only
options:
  nvidia_smi:
    description: Path or name of C(nvidia-smi).
    type: str
    default: nvidia-smi
  processes:
    description: Also list the compute processes on each GPU.
    type: bool
    default: false
  dcgm_exporter_unit:
    description: Name of the dcgm-exporter systemd unit.
    type: str
    default: dcgm-exporter
  dcgm_exporter_url:
    description: URL of the dcgm-exporter metrics endpoint; V(null) skips it.
    type: str
    default: http://127.0.0.1:9400/metrics
  dcgm_exporter_metrics:
    description:
      - Metric families to keep from the scrape (their samples and C(# HELP)/C(# TYPE) lines); the rest of
        the text is dropped on the node, so a fleet's preflight carries back only what it judges.
      - An empty list keeps the whole text.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the metrics endpoint.
    type: int
    default: 5
  model_cache_path:
    description: Folder of the model cache; where it does not exist yet, the nearest existing parent is measured.
    type: path
    default: /var/lib/inferops/hf-cache
  container_engines:
    description: Container engines to look at.
    type: list
    elements: str
    choices: [docker, podman]
    default: [docker, podman]
  do_agent:
    description: Also read the state of the DigitalOcean C(do-agent) unit.
    type: bool
    default: false
seealso:
  - module: inferops.gpu_inference.nvidia_smi_info
"""

EXAMPLES = r"""
- name: Gather preflight observations
  inferops.gpu_inference.gpu_host_info:
    dcgm_exporter_url: http://127.0.0.1:9400/metrics
    dcgm_exporter_metrics: [DCGM_FI_DEV_GPU_UTIL, DCGM_FI_DEV_FB_USED]
    model_cache_path: /mnt/models
  register: gpu_host
"""

RETURN = r"""
os:
  description: OS release fields and kernel.
  returned: always
  type: dict
  sample: {id: ubuntu, version_id: "24.04", pretty_name: Ubuntu 24.04.3 LTS, kernel: 6.8.0-45-generic, machine: x86_64}
nvidia:
  description: >-
    The M(inferops.gpu_inference.nvidia_smi_info) result (gpus, gpu_count, driver_version, cuda_version, ...) under
    C(ok=true), or C(ok=false) with C(reason) (V(nvidia_smi_missing), V(nvidia_smi_driver), ...) and C(msg).
  returned: always
  type: dict
dcgm_exporter:
  description: C(systemd) (whether systemd runs), C(unit_state) (C(systemctl is-active) output or null),
    C(url), C(status) (HTTP status or null), C(metrics_text) (the Prometheus text of the families in
    O(dcgm_exporter_metrics), or all of it), C(metrics_bytes) (the whole scrape's size), C(error).
  returned: always
  type: dict
container:
  description: >-
    C(docker) and C(podman) (C(present), C(version), C(runtimes), C(default_runtime), C(error)) and C(cdi_specs)
    (path, kind, devices).
  returned: always
  type: dict
storage:
  description: C(model_cache) (path, measured_path, exists, free_bytes, total_bytes) and C(shm) (size_bytes, free_bytes).
  returned: always
  type: dict
do_agent:
  description: State of the C(do-agent) unit, when O(do_agent=true).
  returned: when O(do_agent=true)
  type: dict
"""

import json
import os
import platform
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.inferops.gpu_inference.plugins.module_utils import http_util
from ansible_collections.inferops.gpu_inference.plugins.module_utils.cdi import find_specs
from ansible_collections.inferops.gpu_inference.plugins.module_utils.nvidia_smi import (
    NvidiaSmiError,
    collect,
    resolve_executable,
)


def os_facts():
    facts = {}
    try:
        with open('/etc/os-release') as handle:
            for line in handle:
                key, sep, value = line.strip().partition('=')
                if sep:
                    facts[key.lower()] = value.strip('"')
    except (OSError, IOError):
        pass
    uname = platform.uname()
    return {
        'id': facts.get('id'), 'version_id': facts.get('version_id'), 'pretty_name': facts.get('pretty_name'),
        'kernel': uname[2], 'machine': uname[4],
    }


def nvidia_facts(module):
    exe = module.params['nvidia_smi']
    path = resolve_executable(module.get_bin_path, exe)
    if not path:
        return {'ok': False, 'reason': 'nvidia_smi_missing', 'msg': 'nvidia-smi not found (%s)' % exe}

    def run(args):
        return module.run_command([path] + list(args), environ_update={'LC_ALL': 'C'})

    try:
        result = collect(run, processes=module.params['processes'])
    except NvidiaSmiError as exc:
        return {'ok': False, 'reason': 'nvidia_smi_' + exc.reason, 'msg': str(exc)}
    result.update(ok=True, executable=path)
    return result


def systemd_running():
    return os.path.isdir('/run/systemd/system')


def unit_state(module, unit):
    if not systemd_running():
        return None
    systemctl = module.get_bin_path('systemctl')
    if not systemctl:
        return None
    rc, out, err = module.run_command([systemctl, 'is-active', unit])
    return (out or err).strip() or 'unknown'


def keep_families(text, names):
    """The lines of Prometheus text that belong to the named metric families (all when none are named)."""
    if not names:
        return text
    wanted = set(names)
    kept = []
    for line in text.splitlines():
        if line.startswith('#'):
            words = line.split(None, 3)
            keep = len(words) > 2 and words[1] in ('HELP', 'TYPE') and words[2] in wanted
        else:
            keep = re.split(r'[{\s]', line, 1)[0] in wanted
        if keep:
            kept.append(line)
    return '\n'.join(kept) + '\n' if kept else ''


def dcgm_facts(module):
    url = module.params['dcgm_exporter_url']
    facts = {'systemd': systemd_running(), 'unit': module.params['dcgm_exporter_unit'], 'url': url,
             'status': None, 'metrics_text': None, 'error': None}
    facts['unit_state'] = unit_state(module, facts['unit'])
    if url:
        facts['status'], text = http_util.get_text(url, timeout=module.params['timeout'], verify=False)
        if facts['status'] == 200:
            facts['metrics_bytes'] = len(text)
            facts['metrics_text'] = keep_families(text, module.params['dcgm_exporter_metrics'])
        else:
            facts['error'] = text if facts['status'] is None else 'HTTP %s: %s' % (facts['status'], text.strip()[:200])
    return facts


def engine_facts(module, engine):
    exe = module.get_bin_path(engine)
    facts = {'present': bool(exe), 'version': None, 'runtimes': [], 'default_runtime': None, 'error': None}
    if not exe:
        return facts
    rc, out, err = module.run_command([exe, 'info', '--format', '{{json .}}'])
    if rc != 0:
        facts['error'] = (err or out).strip() or 'rc=%d' % rc
        return facts
    try:
        info = json.loads(out)
    except ValueError as exc:
        facts['error'] = 'unreadable %s info: %s' % (engine, exc)
        return facts
    if engine == 'docker':
        facts['version'] = info.get('ServerVersion')
        facts['runtimes'] = sorted((info.get('Runtimes') or {}).keys())
        facts['default_runtime'] = info.get('DefaultRuntime')
        facts['cdi_spec_dirs'] = info.get('CDISpecDirs') or []
    else:
        version = info.get('version') or {}
        facts['version'] = version.get('Version')
        runtime = ((info.get('host') or {}).get('ociRuntime') or {}).get('name')
        facts['runtimes'] = [runtime] if runtime else []
    return facts


def disk_facts(path):
    measured = path
    while measured and not os.path.exists(measured):
        parent = os.path.dirname(measured)
        if parent == measured:
            break
        measured = parent
    facts = {'path': path, 'exists': os.path.exists(path), 'measured_path': measured}
    try:
        st = os.statvfs(measured)
        facts['free_bytes'] = st.f_bavail * st.f_frsize
        facts['total_bytes'] = st.f_blocks * st.f_frsize
    except OSError as exc:
        facts['free_bytes'] = facts['total_bytes'] = None
        facts['error'] = str(exc)
    return facts


def shm_facts():
    if not os.path.isdir('/dev/shm'):
        return {'size_bytes': None, 'free_bytes': None}
    st = os.statvfs('/dev/shm')
    return {'size_bytes': st.f_blocks * st.f_frsize, 'free_bytes': st.f_bavail * st.f_frsize}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            nvidia_smi=dict(type='str', default='nvidia-smi'),
            processes=dict(type='bool', default=False),
            dcgm_exporter_unit=dict(type='str', default='dcgm-exporter'),
            dcgm_exporter_url=dict(type='str', default='http://127.0.0.1:9400/metrics'),
            dcgm_exporter_metrics=dict(type='list', elements='str', default=[]),
            timeout=dict(type='int', default=5),
            model_cache_path=dict(type='path', default='/var/lib/inferops/hf-cache'),
            container_engines=dict(type='list', elements='str', choices=['docker', 'podman'], default=['docker', 'podman']),
            do_agent=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    result = {
        'changed': False,
        'os': os_facts(),
        'nvidia': nvidia_facts(module),
        'dcgm_exporter': dcgm_facts(module),
        'container': dict(
            [(engine, engine_facts(module, engine)) for engine in module.params['container_engines']],
            cdi_specs=find_specs()),
        'storage': {
            'model_cache': disk_facts(module.params['model_cache_path']),
            'shm': shm_facts(),
        },
    }
    if module.params['do_agent']:
        result['do_agent'] = {'systemd': systemd_running(), 'unit_state': unit_state(module, 'do-agent')}
    module.exit_json(**result)


if __name__ == '__main__':
    main()
