#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: nvidia_smi_info
short_description: Read GPU facts from nvidia-smi in one query
version_added: 0.1.0
description:
  - Runs C(nvidia-smi --query-gpu=FIELDS --format=csv,noheader,nounits) once for all fields and
    returns one typed dictionary per GPU (integers, floats, booleans, V(null) for C([N/A]) and
    C([Not Supported])), the driver and CUDA versions, and the GPU count.
  - Optionally adds the topology matrix (C(nvidia-smi topo -m)), the compute processes on
    each GPU (C(--query-compute-apps)) and the plain C(nvidia-smi) table.
  - An optional field that an older driver does not know (for example C(memory.reserved) or
    C(clocks_event_reasons.active)) is dropped and listed in RV(dropped_fields); a field named in
    O(fields) that the driver does not know fails the task.
  - Fails clearly when C(nvidia-smi) is missing or cannot talk to the NVIDIA driver.
  - Only reads; never changes the host.
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - inferops.gpu_inference.attributes.read_only
options:
  executable:
    description:
      - Path or name of the C(nvidia-smi) program. A bare name is looked up on E(PATH) and in
        C(/usr/bin), C(/usr/local/nvidia/bin) and C(/usr/lib/wsl/lib).
    type: str
    default: nvidia-smi
  fields:
    description:
      - Extra C(--query-gpu) fields to read beside the built-in set (see C(nvidia-smi --help-query-gpu)).
      - A field this driver does not know fails the task.
    type: list
    elements: str
    default: []
  topology:
    description: Also return the topology matrix from C(nvidia-smi topo -m).
    type: bool
    default: false
  processes:
    description: Also return the compute processes on each GPU.
    type: bool
    default: false
  table:
    description: Also return the plain C(nvidia-smi) text (the table an operator reads), in RV(table).
    type: bool
    default: false
notes:
  - Result keys carry the units that C(nounits) strips, for example C(memory_total_mib) in RV(gpus).
seealso:
  - name: nvidia-smi documentation
    description: The NVIDIA System Management Interface.
    link: https://docs.nvidia.com/deploy/nvidia-smi/index.html
"""

EXAMPLES = r"""
- name: Read GPU facts
  inferops.gpu_inference.nvidia_smi_info:
  register: gpu

- name: Fail unless there are 8 H100s
  ansible.builtin.assert:
    that:
      - gpu.gpu_count == 8
      - gpu.gpus | map(attribute='name') | select('search', 'H100') | list | length == 8

- name: Topology and processes too
  inferops.gpu_inference.nvidia_smi_info:
    topology: true
    processes: true
  register: gpu_full
"""

RETURN = r"""
gpus:
  description: One dictionary per GPU; keys carry units. Values are V(null) where nvidia-smi says C([N/A]).
  returned: success
  type: list
  elements: dict
  sample:
    - index: 0
      name: NVIDIA H100 80GB HBM3
      uuid: GPU-5454c17d-a746-134b-536f-351e5c5ac5d2
      memory_total_mib: 81559
      memory_used_mib: 0
      utilization_gpu_pct: 0
      power_draw_w: 83.51
      persistence_mode: true
      mig_mode_current: false
      ecc_errors_uncorrected_volatile_total: 0
      retired_pages_pending: null
      remapped_rows_pending: false
      processes: []
gpu_count:
  description: Number of GPUs nvidia-smi lists.
  returned: success
  type: int
  sample: 1
driver_version:
  description: NVIDIA driver version.
  returned: success
  type: str
  sample: "580.159.04"
cuda_version:
  description: Highest CUDA version the driver supports (V(null) when nvidia-smi does not say).
  returned: success
  type: str
  sample: "13.0"
nvml_version:
  description: NVML version, where C(nvidia-smi --version) prints it.
  returned: success
  type: str
  sample: "580.159"
fields:
  description: The query fields that were read.
  returned: success
  type: list
  elements: str
dropped_fields:
  description: Optional fields this driver does not know, dropped from the query.
  returned: success
  type: list
  elements: str
  sample: [memory.reserved]
table:
  description: The plain C(nvidia-smi) output - the GPU table and its processes - as it prints it.
  returned: when O(table=true)
  type: str
topology:
  description: The C(nvidia-smi topo -m) matrix, CPU and NUMA affinity, and the legend.
  returned: when O(topology=true)
  type: dict
  sample:
    devices: [GPU0]
    matrix: {GPU0: {GPU0: X}}
    affinity: {GPU0: {cpu_affinity: 0-15, numa_affinity: "0", gpu_numa_id: null}}
"""


from ansible.module_utils.basic import AnsibleModule
from ansible_collections.inferops.gpu_inference.plugins.module_utils.nvidia_smi import (
    NvidiaSmiError,
    collect,
    resolve_executable,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            executable=dict(type='str', default='nvidia-smi'),
            fields=dict(type='list', elements='str', default=[]),
            topology=dict(type='bool', default=False),
            processes=dict(type='bool', default=False),
            table=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    exe = module.params['executable']
    path = resolve_executable(module.get_bin_path, exe)
    if not path:
        module.fail_json(
            msg='nvidia-smi not found (executable=%s): install the NVIDIA driver on this host, '
                'or set executable to where nvidia-smi is' % exe,
            reason='nvidia_smi_missing')

    def run(args):
        return module.run_command([path] + list(args), environ_update={'LC_ALL': 'C'})

    try:
        result = collect(run, extra_fields=module.params['fields'],
                         topology=module.params['topology'], processes=module.params['processes'],
                         table=module.params['table'])
    except NvidiaSmiError as exc:
        module.fail_json(msg=str(exc), reason='nvidia_smi_' + exc.reason)
    module.exit_json(changed=False, executable=path, **result)


if __name__ == '__main__':
    main()
