# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsers for nvidia-smi output (stdlib only; runs on nodes and on the controller).

One external format lives here: what ``nvidia-smi`` prints for
``--query-gpu=... --format=csv,noheader,nounits``, ``--query-compute-apps``,
``--version`` and ``topo -m``, and its error messages. Nothing here runs a process.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import os
import re

# Query field -> (result key with its unit, type). Types: int, float, str, bool
# ("Enabled"/"Yes" -> True), hex (kept as a string such as 0x0000000000000001).
# The key names carry the units that `nounits` strips from the values.
FIELDS = {
    'index': ('index', 'int'),
    'name': ('name', 'str'),
    'uuid': ('uuid', 'str'),
    'pci.bus_id': ('pci_bus_id', 'str'),
    'driver_version': ('driver_version', 'str'),
    'vbios_version': ('vbios_version', 'str'),
    'compute_cap': ('compute_cap', 'str'),
    'count': ('count', 'int'),
    'memory.total': ('memory_total_mib', 'int'),
    'memory.used': ('memory_used_mib', 'int'),
    'memory.free': ('memory_free_mib', 'int'),
    'memory.reserved': ('memory_reserved_mib', 'int'),
    'utilization.gpu': ('utilization_gpu_pct', 'int'),
    'utilization.memory': ('utilization_memory_pct', 'int'),
    'temperature.gpu': ('temperature_gpu_c', 'int'),
    'temperature.memory': ('temperature_memory_c', 'int'),
    'power.draw': ('power_draw_w', 'float'),
    'power.draw.instant': ('power_draw_instant_w', 'float'),
    'power.limit': ('power_limit_w', 'float'),
    'pstate': ('pstate', 'str'),
    'persistence_mode': ('persistence_mode', 'bool'),
    'mig.mode.current': ('mig_mode_current', 'bool'),
    'ecc.mode.current': ('ecc_mode_current', 'bool'),
    'ecc.errors.uncorrected.volatile.total': ('ecc_errors_uncorrected_volatile_total', 'int'),
    'ecc.errors.corrected.volatile.total': ('ecc_errors_corrected_volatile_total', 'int'),
    'retired_pages.pending': ('retired_pages_pending', 'bool'),
    'remapped_rows.pending': ('remapped_rows_pending', 'bool'),
    'remapped_rows.failure': ('remapped_rows_failure', 'bool'),
    'clocks.sm': ('clocks_sm_mhz', 'int'),
    'clocks.mem': ('clocks_mem_mhz', 'int'),
    'clocks.max.sm': ('clocks_max_sm_mhz', 'int'),
    'fan.speed': ('fan_speed_pct', 'int'),
    'compute_mode': ('compute_mode', 'str'),
    'pcie.link.gen.current': ('pcie_link_gen_current', 'int'),
    'pcie.link.width.current': ('pcie_link_width_current', 'int'),
    'clocks_event_reasons.active': ('clocks_event_reasons_active', 'str'),
    # For the health check (gpu_health): lifetime uncorrectable ECC errors, and the clock slowdowns that mean heat or
    # a power brake ("Active" / "Not Active").
    'ecc.errors.uncorrected.aggregate.total': ('ecc_errors_uncorrected_aggregate_total', 'int'),
    'clocks_event_reasons.hw_thermal_slowdown': ('clocks_event_reasons_hw_thermal_slowdown', 'bool'),
    'clocks_event_reasons.sw_thermal_slowdown': ('clocks_event_reasons_sw_thermal_slowdown', 'bool'),
    'clocks_event_reasons.hw_power_brake_slowdown': ('clocks_event_reasons_hw_power_brake_slowdown', 'bool'),
}

# Always queried; every driver the collection supports knows them. If the driver rejects
# one of these, the host is not usable and the module fails.
CORE_FIELDS = (
    'index', 'name', 'uuid', 'pci.bus_id', 'driver_version', 'memory.total',
    'memory.used', 'memory.free', 'utilization.gpu', 'persistence_mode',
)

# Queried by default; a driver that does not know one of these has it dropped (and
# reported), e.g. memory.reserved or clocks_event_reasons.active on older drivers.
OPTIONAL_FIELDS = tuple(f for f in FIELDS if f not in CORE_FIELDS)

NOT_AVAILABLE = ('[N/A]', '[Not Supported]', 'N/A', '[Unknown Error]', '[Insufficient Permissions]')
TRUE_WORDS = ('enabled', 'yes', 'on', 'true', 'active')
FALSE_WORDS = ('disabled', 'no', 'off', 'false', 'not active')

_ANSI = re.compile(r'\x1b\[[0-9;]*[A-Za-z]')
_BAD_FIELD = re.compile(r'Field "([^"]+)" is not a valid field to query')
# What nvidia-smi prints, instead of a GPU's row or block, for a GPU the driver cannot reach; newer drivers name
# the index, older ones run "GPU" into the bus id:
#   Unable to determine the device handle for GPU1: 0000:07:00.0: GPU is lost. Reboot the system to recover this GPU
#   Unable to determine the device handle for GPU 0000:05:00.0: GPU is lost.  Reboot the system to recover this GPU
#   Unable to determine the device handle for GPU0000:08:00.0: Unknown Error
_LOST_GPU = re.compile(
    r'Unable to determine the device handle for GPU ?(?:(?P<index>\d+): ?)?'
    r'(?P<pci>[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7])?: ?(?P<reason>.*?)\s*$')
_DRIVER_DOWN = (
    "couldn't communicate with the nvidia driver",
    'no devices were found',
    'driver/library version mismatch',
    'unable to determine the device handle',
)


# Where drivers put nvidia-smi besides PATH (containers with the NVIDIA runtime, WSL).
NVIDIA_SMI_DIRS = ['/usr/bin', '/usr/local/nvidia/bin', '/usr/lib/wsl/lib']


def resolve_executable(get_bin_path, exe):
    """Path of an executable nvidia-smi, or None. ``exe`` is a path or a bare name looked up
    with ``get_bin_path`` (AnsibleModule.get_bin_path) on PATH and NVIDIA_SMI_DIRS."""
    path = exe if os.path.sep in exe else get_bin_path(exe, opt_dirs=NVIDIA_SMI_DIRS)
    return path if path and os.access(path, os.X_OK) else None


class NvidiaSmiError(Exception):
    """nvidia-smi answered with something that is not data.

    ``reason`` is one of ``missing``, ``driver``, ``bad_field`` or ``query``.
    """

    def __init__(self, msg, reason='query'):
        super(NvidiaSmiError, self).__init__(msg)
        self.reason = reason


def field_key(field):
    """Result key for a query field; unknown fields keep their name with '.' -> '_'."""
    return FIELDS.get(field, (field.replace('.', '_'), 'str'))[0]


def convert(value, kind):
    """Type one CSV cell. `[N/A]`-style cells become None; a cell that does not fit its
    type is kept as the string nvidia-smi printed, never guessed at."""
    value = value.strip()
    if value in NOT_AVAILABLE or value == '':
        return None
    try:
        if kind == 'int':
            return int(value)
        if kind == 'float':
            return float(value)
    except ValueError:
        return value
    if kind == 'bool':
        low = value.lower()
        if low in TRUE_WORDS:
            return True
        if low in FALSE_WORDS:
            return False
    return value


def query_gpu_args(fields):
    """The one nvidia-smi command line for a list of query fields."""
    return ['--query-gpu=' + ','.join(fields), '--format=csv,noheader,nounits']


def parse_query_gpu(text, fields):
    """Parse `--query-gpu=FIELDS --format=csv,noheader,nounits` into a list of dicts."""
    gpus = []
    for row in csv.reader(line for line in text.splitlines() if line.strip()):
        if len(row) != len(fields):
            raise NvidiaSmiError(
                'nvidia-smi returned %d columns for %d fields in line %r' % (len(row), len(fields), ','.join(row)))
        gpu = {}
        for field, cell in zip(fields, row):
            key, kind = FIELDS.get(field, (field_key(field), 'str'))
            gpu[key] = convert(cell, kind)
        gpus.append(gpu)
    return gpus


def parse_compute_apps(text):
    """Parse `--query-compute-apps=pid,process_name,used_memory,gpu_uuid --format=csv[,noheader][,nounits]`."""
    apps = []
    for row in csv.reader(line for line in text.splitlines() if line.strip()):
        cells = [c.strip() for c in row]
        if len(cells) < 4 or cells[0] == 'pid':
            continue
        memory = cells[2].replace('MiB', '').strip()
        apps.append({
            'pid': convert(cells[0], 'int'),
            'process_name': cells[1],
            'used_memory_mib': convert(memory, 'int'),
            'gpu_uuid': cells[3],
        })
    return apps


def parse_version(text):
    """Parse `nvidia-smi --version` (or the header of plain `nvidia-smi`) into
    driver_version, cuda_version and nvml_version (None when absent)."""
    out = {'driver_version': None, 'cuda_version': None, 'nvml_version': None}
    patterns = {
        'driver_version': r'(?:DRIVER version|Driver Version)\s*:\s*([0-9.]+)',
        'cuda_version': r'CUDA Version\s*:\s*([0-9.]+)',
        'nvml_version': r'NVML version\s*:\s*([0-9.]+)',
    }
    for key, pattern in patterns.items():
        match = re.search(pattern, text)
        if match:
            out[key] = match.group(1)
    return out


def parse_topology(text):
    """Parse `nvidia-smi topo -m`: the matrix between devices plus affinity columns.

    Returns {'devices': [...], 'matrix': {dev: {dev: link}}, 'affinity': {dev: {...}},
    'legend': {code: meaning}}. The header row carries ANSI underline codes; they are
    stripped. Alignment tabs make empty cells, which are skipped.
    """
    lines = [_ANSI.sub('', line) for line in text.splitlines()]
    header = None
    rows = []
    legend = {}
    in_legend = False
    for line in lines:
        if not line.strip():
            continue
        if line.strip().startswith('Legend'):
            in_legend = True
            continue
        if in_legend:
            match = re.match(r'\s*(\S+)\s+=\s+(.*)$', line)
            if match:
                legend[match.group(1)] = match.group(2).strip()
            continue
        cells = [c.strip() for c in line.split('\t') if c.strip()]
        if header is None:
            header = cells
        else:
            rows.append(cells)
    if header is None:
        raise NvidiaSmiError('nvidia-smi topo -m printed no matrix header')
    devices = [h for h in header if re.match(r'^(GPU|NIC|NVS|mlx)\w*\d+$', h)]
    extra = header[len(devices):]
    matrix = {}
    affinity = {}
    for cells in rows:
        name, values = cells[0], cells[1:]
        matrix[name] = dict(zip(devices, values[:len(devices)]))
        rest = values[len(devices):]
        affinity[name] = dict(
            (col.lower().replace(' ', '_'), None if val in ('N/A',) else val)
            for col, val in zip(extra, rest))
    return {'devices': devices, 'matrix': matrix, 'affinity': affinity, 'legend': legend}


def classify_error(rc, stdout, stderr):
    """Turn a failed nvidia-smi run into (kind, detail): kind is 'bad_field' (detail: the
    field), 'driver' (detail: nvidia-smi's own words) or 'other'."""
    text = '\n'.join(part for part in (stdout, stderr) if part)
    match = _BAD_FIELD.search(text)
    if match:
        return 'bad_field', match.group(1)
    low = text.lower()
    for needle in _DRIVER_DOWN:
        if needle in low:
            return 'driver', text.strip()
    return 'other', 'rc=%s: %s' % (rc, text.strip() or '(no output)')


def parse_lost_gpus(text):
    """The GPUs nvidia-smi says it cannot reach ("Unable to determine the device handle for GPU..."): a list of
    {index (None where the driver does not say), pci_bus_id (in --query-gpu's form: 00000000:07:00.0), reason (its
    words, e.g. "GPU is lost. Reboot the system to recover this GPU"), lost (True when the reason says the GPU is
    lost, i.e. fell off the bus)}."""
    lost = []
    for line in (text or '').splitlines():
        match = _LOST_GPU.search(line)
        if not match:
            continue
        reason = re.sub(r'\s+', ' ', match.group('reason')).strip()
        pci = match.group('pci')
        if pci:
            domain, rest = pci.split(':', 1)
            pci = ('%08X:%s' % (int(domain, 16), rest)).upper()
        lost.append({
            'index': int(match.group('index')) if match.group('index') else None,
            'pci_bus_id': pci,
            'reason': reason,
            'lost': 'gpu is lost' in reason.lower(),
        })
    return lost


def _without_lost_lines(text):
    return '\n'.join(line for line in (text or '').splitlines() if not _LOST_GPU.search(line))


def gpu_count(run):
    """The number of GPUs, with one nvidia-smi run (``run`` as for collect())."""
    rc, out, err = run(query_gpu_args(['index']))
    if rc != 0:
        kind, detail = classify_error(rc, out, err)
        if kind == 'driver':
            raise NvidiaSmiError('nvidia-smi cannot talk to the NVIDIA driver: %s' % detail, 'driver')
        raise NvidiaSmiError('nvidia-smi --query-gpu failed: %s' % detail)
    return len(parse_query_gpu(out, ['index']))


def attach_processes(gpus, apps):
    """Add a `processes` list to each GPU dict, matched by UUID."""
    by_uuid = dict((gpu.get('uuid'), gpu) for gpu in gpus)
    for gpu in gpus:
        gpu['processes'] = []
    for app in apps:
        gpu = by_uuid.get(app['gpu_uuid'])
        if gpu is not None:
            gpu['processes'].append(app)
    return gpus


def collect(run, extra_fields=None, topology=False, processes=False, max_drops=len(OPTIONAL_FIELDS), table=False,
            lost_ok=False):
    """Gather everything with as few nvidia-smi processes as possible.

    ``run(args)`` runs nvidia-smi with the argument list and returns (rc, stdout, stderr).
    One ``--query-gpu`` call carries all fields; an optional field that this driver does
    not know is dropped and the query repeated (older drivers); a core field or one in
    ``extra_fields`` that it does not know raises NvidiaSmiError. Returns a dict with
    gpus, gpu_count, versions, dropped_fields, and topology and table (the plain ``nvidia-smi``
    text, as an operator reads it) when asked.

    A GPU that the driver cannot reach (fallen off the bus) makes nvidia-smi print "Unable to determine the
    device handle for GPU..." in its place and exit non-zero; that raises NvidiaSmiError (reason ``driver``)
    unless ``lost_ok``: then the other GPUs' rows are kept and the unreachable ones are listed in
    ``lost_gpus`` (see parse_lost_gpus()).
    """
    required = set(CORE_FIELDS) | set(extra_fields or [])
    fields = list(CORE_FIELDS) + [f for f in OPTIONAL_FIELDS if f not in CORE_FIELDS]
    fields += [f for f in (extra_fields or []) if f not in fields]
    dropped = []
    lost = []
    while True:
        rc, out, err = run(query_gpu_args(fields))
        if lost_ok:
            lost = parse_lost_gpus('\n'.join((out or '', err or '')))
            if lost:
                out = _without_lost_lines(out)
                break
        if rc == 0:
            break
        kind, detail = classify_error(rc, out, err)
        if kind == 'bad_field' and detail in fields and detail not in required and len(dropped) < max_drops:
            fields.remove(detail)
            dropped.append(detail)
            continue
        if kind == 'bad_field':
            raise NvidiaSmiError(
                'nvidia-smi on this host does not know the query field "%s" (%s); '
                'remove it from the requested fields or update the driver' % (
                    detail, 'a core field' if detail in CORE_FIELDS else 'asked for in fields'), 'bad_field')
        if kind == 'driver':
            raise NvidiaSmiError('nvidia-smi cannot talk to the NVIDIA driver: %s' % detail, 'driver')
        raise NvidiaSmiError('nvidia-smi --query-gpu failed: %s' % detail)
    gpus = parse_query_gpu(out, fields)

    plain = None
    if table:
        rc, plain, err = run([])
        if rc != 0:
            raise NvidiaSmiError('nvidia-smi failed: %s' % classify_error(rc, plain, err)[1])
    rc, out, err = run(['--version'])
    if rc != 0:
        # Drivers before ~R525 have no --version; the plain header carries the same.
        rc, out, err = (0, plain, '') if plain is not None else run([])
    versions = parse_version(out) if rc == 0 else parse_version('')
    if versions['driver_version'] is None and gpus:
        versions['driver_version'] = gpus[0].get('driver_version')

    result = {
        'gpus': gpus,
        'gpu_count': len(gpus),
        'driver_version': versions['driver_version'],
        'cuda_version': versions['cuda_version'],
        'nvml_version': versions['nvml_version'],
        'fields': fields,
        'dropped_fields': dropped,
    }
    if lost_ok:
        result['lost_gpus'] = lost
    if processes:
        rc, out, err = run(['--query-compute-apps=pid,process_name,used_memory,gpu_uuid', '--format=csv,noheader,nounits'])
        if rc != 0:
            raise NvidiaSmiError('nvidia-smi --query-compute-apps failed: %s' % classify_error(rc, out, err)[1])
        attach_processes(gpus, parse_compute_apps(out))
    if table:
        result['table'] = plain
    if topology:
        rc, out, err = run(['topo', '-m'])
        if rc != 0:
            raise NvidiaSmiError('nvidia-smi topo -m failed: %s' % classify_error(rc, out, err)[1])
        result['topology'] = parse_topology(out)
    return result
