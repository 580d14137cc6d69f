#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: gpu_health
short_description: Is the GPU healthy? Read Xid errors, ECC, row remapping, NVLink errors and throttling on the node
version_added: 0.1.0
description:
  - The GPU half of a day-2 health check. On the node, in one module run, it reads the kernel log of the last
    O(xid_window) seconds for the NVIDIA driver's Xid lines, one C(nvidia-smi --query-gpu) (as
    M(inferops.gpu_inference.nvidia_smi_info) reads it) and C(nvidia-smi nvlink -e), and judges them in
    RV(checks).
  - "C(gpu_lost): V(fail) when nvidia-smi is missing or cannot talk to the driver, says a GPU is lost
    (C(Unable to determine the device handle for GPU...: GPU is lost)), or the kernel log says a GPU fell off the bus
    (Xid 79)."
  - "C(xid): V(fail) for an Xid in O(fail_xids) within the window (those NVIDIA's Xid catalog sends to a GPU reset, a
    reboot or a hardware check), V(warn) for any other Xid (for example 13, a graphics engine exception, most often
    the application's fault)."
  - "C(ecc_uncorrected): V(fail) on uncorrectable ECC errors since the driver loaded (volatile), V(warn) on
    uncorrectable errors in the GPU's lifetime (aggregate)."
  - "C(row_remapping): V(fail) when row remapping failed, or a row remapping or page retirement is pending (waiting
    for a GPU reset)."
  - "C(nvlink_errors): V(warn) when a replay, recovery or CRC error counter of an NVLink link is above zero;
    V(skip) when no GPU has NVLink or O(nvlink=false)."
  - "C(throttle): V(warn) when a GPU's clocks are slowed by HW thermal slowdown, SW thermal slowdown or the HW power
    brake, naming the GPU and the reason."
  - A check that could not be made is V(skip), and its message says why. Every message names the GPU by index and
    PCI bus id, and the cause in plain words.
  - Judges but never fails the task on what it finds (RV(healthy) and RV(faults) say it); the task fails only on
    bad options. Only reads; never changes the host.
author:
  - inferops engineers (@inferops)
extends_documentation_fragment:
  - inferops.gpu_inference.attributes.read_only
options:
  nvidia_smi:
    description:
      - Path or name of C(nvidia-smi). A bare name is looked up on E(PATH) and in C(/usr/bin),
        C(/usr/local/nvidia/bin) and C(/usr/lib/wsl/lib).
    type: str
    default: nvidia-smi
  kernel_log_command:
    description:
      - The command (program and arguments) that prints the kernel log to read for Xid lines. Its lines may be in
        the format of C(journalctl -o short-iso), C(dmesg --ctime), plain C(dmesg) or a syslog file; lines older
        than O(xid_window) seconds are left out.
      - When not set, C(journalctl -k -o short-iso --since -<xid_window>s --no-pager) is read, and when
        C(journalctl) is absent or fails (for example a container without a journal), C(dmesg --ctime), then
        C(dmesg). RV(kernel_log_source) says which was read.
    type: list
    elements: str
  xid_window:
    description: Seconds back from now in which an Xid counts.
    type: int
    default: 3600
  fail_xids:
    description:
      - Xids that make the C(xid) check fail; any other Xid in the window warns.
      - "The default: 48 (double bit ECC error), 63 and 64 (row remapping or page retirement event or failure),
        74 (NVLink error), 79 (GPU has fallen off the bus), 92 (high single-bit ECC error rate), 94 and 95
        (contained and uncontained ECC error), 119 and 120 (GSP RPC timeout, GSP error), 140 (unrecovered ECC
        error)."
    type: list
    elements: int
    default: [48, 63, 64, 74, 79, 92, 94, 95, 119, 120, 140]
  nvlink:
    description: Also read the NVLink error counters (C(nvidia-smi nvlink -e)).
    type: bool
    default: true
notes:
  - "Reading the kernel log may need privileges (C(kernel.dmesg_restrict), the C(systemd-journal) group); use
    C(become: true) where the C(xid) check says the log could not be read."
  - NVLink and ECC counters count since the driver loaded (volatile) or over the GPU's life (aggregate), not within
    O(xid_window).
seealso:
  - module: inferops.gpu_inference.nvidia_smi_info
  - module: inferops.gpu_inference.gpu_host_info
  - name: NVIDIA Xid errors
    description: What each Xid means and what to do about it.
    link: https://docs.nvidia.com/deploy/xid-errors/index.html
"""

EXAMPLES = r"""
- name: Is the GPU healthy?
  inferops.gpu_inference.gpu_health:
  become: true
  register: gpu_health

- name: Fail naming what is wrong
  ansible.builtin.assert:
    that: gpu_health.healthy
    fail_msg: "{{ gpu_health.faults | join('; ') }}"

- name: Only the last ten minutes, and Xid 13 fails too
  inferops.gpu_inference.gpu_health:
    xid_window: 600
    fail_xids: [13, 48, 63, 64, 74, 79, 92, 94, 95, 119, 120, 140]
  become: true
  register: gpu_health

- name: Read the kernel log from a file instead
  inferops.gpu_inference.gpu_health:
    kernel_log_command: [cat, /var/log/kern.log]
    nvlink: false
  become: true
"""

RETURN = r"""
checks:
  description:
    - One entry per check, always in this order - C(gpu_lost), C(xid), C(ecc_uncorrected), C(row_remapping),
      C(nvlink_errors), C(throttle) - each with C(name) (and C(check), the same, as the preflight checks have it),
      C(status) (V(ok), V(warn), V(fail) or V(skip)), C(message), C(found) and C(expected).
  returned: always
  type: list
  elements: dict
  sample:
    - name: xid
      check: xid
      status: fail
      message: "GPU 0 (00000000:3B:00.0): Xid 79 (GPU has fallen off the bus) at 2026-11-22T05:07:21Z"
      found: [{xid: 79, name: GPU has fallen off the bus, gpu: 0, pci: "0000:3b:00", count: 1,
               last_time: "2026-11-22T05:07:21Z", pid: <unknown>, process: <unknown>,
               text: GPU has fallen off the bus., severity: fail}]
      expected: "no Xid in the last 3600 s; Xids 48, 63, 64, 74, 79, 92, 94, 95, 119, 120, 140 fail, others warn"
faults:
  description: The messages of the checks that failed, then of those that warned, each led by the check's name.
  returned: always
  type: list
  elements: str
  sample: ["xid (fail): GPU 0 (00000000:3B:00.0): Xid 79 (GPU has fallen off the bus) at 2026-11-22T05:07:21Z"]
healthy:
  description: V(true) when no check failed (warnings do not count).
  returned: always
  type: bool
  sample: false
gpus:
  description: The GPUs nvidia-smi answered for - C(index), C(name), C(uuid), C(pci_bus_id) - and any it could not
    reach, with C(lost=true) and nvidia-smi's C(reason).
  returned: always
  type: list
  elements: dict
  sample:
    - {index: 0, name: NVIDIA H100 80GB HBM3, uuid: GPU-5454c17d-a746-134b-536f-351e5c5ac5d2,
       pci_bus_id: "00000000:00:06.0"}
kernel_log_source:
  description: The command line whose kernel log was read, or V(null) when none could be (see the C(xid) check).
  returned: always
  type: str
  sample: journalctl -k -o short-iso --since -3600s --no-pager
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.inferops.gpu_inference.plugins.module_utils import gpu_health
from ansible_collections.inferops.gpu_inference.plugins.module_utils.nvidia_smi import (
    NvidiaSmiError,
    collect,
    resolve_executable,
)


def read_nvidia(module):
    """nvidia-smi's answer and the program's path ((facts, path); path None when nvidia-smi did not answer)."""
    exe = module.params['nvidia_smi']
    path = resolve_executable(module.get_bin_path, exe)
    if not path:
        return {'ok': False, 'reason': 'nvidia_smi_missing', 'msg': 'nvidia-smi not found (%s)' % exe}, None

    def run(args):
        return module.run_command([path] + list(args), environ_update={'LC_ALL': 'C'})

    try:
        facts = collect(run, lost_ok=True)
    except NvidiaSmiError as exc:
        return {'ok': False, 'reason': 'nvidia_smi_' + exc.reason, 'msg': str(exc)}, None
    facts['ok'] = True
    return facts, run


def kernel_log_commands(module):
    """The commands to try, in order."""
    if module.params['kernel_log_command']:
        return [module.params['kernel_log_command']]
    since = '-%ds' % module.params['xid_window']
    return [['journalctl', '-k', '-o', 'short-iso', '--since', since, '--no-pager'], ['dmesg', '--ctime'], ['dmesg']]


def read_kernel_log(module, now):
    """The NVIDIA events of the kernel log's window, with the command read (source) or why none could be (error)."""
    errors = []
    for command in kernel_log_commands(module):
        program = module.get_bin_path(command[0])
        if not program:
            errors.append('%s: not found' % command[0])
            continue
        rc, out, err = module.run_command([program] + command[1:], environ_update={'LC_ALL': 'C'})
        why = gpu_health.log_unusable(rc, out, err)
        if why:
            errors.append('%s: %s' % (' '.join(command), why))
            continue
        events = gpu_health.parse_kernel_log(out, now=now, uptime=uptime(),
                                             since=now - module.params['xid_window'])
        events.update(source=' '.join(command), error=None)
        return events
    return {'source': None, 'error': '; '.join(errors), 'xids': [], 'fallen_off_bus': []}


def uptime():
    try:
        with open('/proc/uptime') as handle:
            return float(handle.read().split()[0])
    except (IOError, OSError, ValueError, IndexError):
        return None


def read_nvlink(module, run):
    if not module.params['nvlink'] or run is None:
        return None
    rc, out, err = run(['nvlink', '-e'])
    gpus = gpu_health.parse_nvlink_errors(out)
    return {'gpus': gpus, 'error': None if rc == 0 else 'rc=%s: %s' % (rc, (err or out).strip()[-300:])}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            nvidia_smi=dict(type='str', default='nvidia-smi'),
            kernel_log_command=dict(type='list', elements='str'),
            xid_window=dict(type='int', default=3600),
            fail_xids=dict(type='list', elements='int', default=list(gpu_health.DEFAULT_FAIL_XIDS)),
            nvlink=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    if module.params['xid_window'] <= 0:
        module.fail_json(msg='xid_window must be a number of seconds above 0, not %s' % module.params['xid_window'])
    now = time.time()
    nvidia, run = read_nvidia(module)
    kernel = read_kernel_log(module, now)
    nvlink = read_nvlink(module, run)
    checks = gpu_health.judge(nvidia, kernel, nvlink, module.params['fail_xids'], module.params['xid_window'])
    gpus = [dict((k, g.get(k)) for k in ('index', 'name', 'uuid', 'pci_bus_id')) for g in nvidia.get('gpus') or []]
    gpus += [{'index': g['index'], 'name': None, 'uuid': None, 'pci_bus_id': g['pci_bus_id'], 'lost': True,
              'reason': g['reason']} for g in nvidia.get('lost_gpus') or []]
    module.exit_json(changed=False, checks=checks, faults=gpu_health.faults(checks), healthy=gpu_health.healthy(checks),
                     gpus=gpus, kernel_log_source=kernel['source'])


if __name__ == '__main__':
    main()
