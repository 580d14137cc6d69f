#!/usr/bin/env python3
"""TEST DOUBLE for nvidia-smi: replays output captured on a real H100 (no GPU here).

Installed as ``nvidia-smi`` on Molecule node containers and called by unit tests. It
answers by argument from the real captures in ``fixtures/gpu/h100-80gb-x1/`` (the
folder in $NVIDIA_SMI_DOUBLE_FIXTURES, else /usr/local/share/nvidia-smi-double where a test
host has it installed, else tests/unit/fixtures/gpu/h100-80gb-x1):

* ``--query-gpu=F1,F2 --format=csv[,noheader][,nounits]``: the captured values of those
  fields, in the order asked; a field the capture lacks gets nvidia-smi's own error
  (``Field "x" is not a valid field to query.``, exit 2), as captured in smi_bad_field.txt;
* ``--query-compute-apps=...``, ``--version``, ``topo -m``, ``-L`` and no argument: the captures (the plain table
  of no argument widened to the profile's GPUs as nvidia-smi prints several: one block per GPU, each after the rule);
* ``-lms N`` (or ``-l N`` seconds) with ``--query-gpu``: nvidia-smi's loop mode, the rows again every
  N ms until killed, as the benchmark's GPU sampler reads them. The values are those of the capture
  taken under load (smi_query_loaded.csv: a matrix-multiply loop kept the GPU busy), since a loop runs
  while a benchmark does; ``"loop": "idle"`` in the profile replays the idle capture instead;
* ``-pm 1`` / ``-pm 0`` (``--persistence-mode=``, with ``-i N`` for one GPU): nvidia-smi's lines where no
  nvidia-persistenced runs (``Enabled Legacy persistence mode for GPU 00000000:06:00.0.``, or ``Persistence mode is
  already Enabled for GPU ...``, then ``All done.``); the mode is kept in $NVIDIA_SMI_DOUBLE_STATE (default
  /var/lib/nvidia-smi-double/persistence.json) and the queries' ``persistence_mode`` reads it back, over the profile's
  ``set``, as the driver keeps it until the next reboot;
* ``nvlink -e`` (``--errorcounters``): the NVLink error counters in nvidia-smi's format, one block per GPU
  (``GPU 0: NAME (UUID: ...)``, then ``\t Link N: Replay Errors: 0``, ``Recovery Errors``, ``CRC Errors`` for each
  link, a blank line after each link), as real H100 SXM hosts print it (18 links per GPU; the format as published
  from H100 and A100 hosts). The capture host itself is a one-GPU VM, so these counters are not from the capture;
  they are 0 unless the profile sets them.

A profile (JSON in $NVIDIA_SMI_DOUBLE_PROFILE, a file path or the JSON itself, else /etc/nvidia-smi-double.json)
changes the replay the way other hosts would differ, each change named:
``{"gpus": 2, "set": {"ecc.errors.uncorrected.volatile.total": "3"}, "driver_version": "470.57.02",
"cuda_version": "11.4", "unknown_fields": ["memory.reserved"], "driver_down": true}``.

* ``set`` (every GPU) and ``set_gpu`` (``{"1": {field: value}}``) set any query field, the health fields
  included: ``ecc.errors.uncorrected.aggregate.total`` (a count) and ``clocks_event_reasons.hw_thermal_slowdown``,
  ``.sw_thermal_slowdown``, ``.hw_power_brake_slowdown`` (``Active`` / ``Not Active``). The capture's CSV lacks
  these four; their values are those its ``nvidia-smi -q -x`` (smi_q.xml) reports: 0 and Not Active.
* ``lost_gpus``: ``[1]``: GPU 1 has fallen off the bus. ``--query-gpu`` (not in loop mode), the plain table and
  ``nvlink -e`` answer for the others and print, in its place, nvidia-smi's ``Unable to determine the device handle
  for GPU1: 0000:07:00.0: GPU is lost. Reboot the system to recover this GPU``, and exit 15 (nvidia-smi's "The GPU
  has fallen off the bus or has otherwise become inaccessible").
* ``nvlink_links``: links per GPU (default 18, an H100 SXM); ``0`` is a GPU without NVLink: each GPU's block
  then holds nvidia-smi's ``NVML: Unable to retrieve Nvlink information as all links are inActive`` (or the line in
  ``nvlink_message``, e.g. ``NVML: Unable to retrieve NVLink information: Not Supported``).
* ``nvlink_errors``: counters per GPU and link, e.g. ``{"0": {"5": {"CRC Errors": 37, "Replay Errors": 3}}}``.
"""

import csv
import io
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FIXTURES = os.path.join(HERE, '..', 'unit', 'fixtures', 'gpu', 'h100-80gb-x1')
DRIVER_DOWN = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
               "Make sure that the latest NVIDIA driver is installed and running.\n")
# The field list of the captures (fixtures/gpu/README.md, $F), in capture order.
CAPTURED_FIELDS = (
    'index,name,uuid,pci.bus_id,driver_version,vbios_version,compute_cap,count,memory.total,'
    'memory.used,memory.free,memory.reserved,utilization.gpu,utilization.memory,temperature.gpu,'
    'temperature.memory,power.draw,power.draw.instant,power.limit,pstate,persistence_mode,'
    'mig.mode.current,ecc.mode.current,ecc.errors.uncorrected.volatile.total,'
    'ecc.errors.corrected.volatile.total,retired_pages.pending,remapped_rows.pending,'
    'remapped_rows.failure,clocks.sm,clocks.mem,clocks.max.sm,fan.speed,compute_mode,'
    'pcie.link.gen.current,pcie.link.width.current,clocks_event_reasons.active').split(',')


# Query fields the capture's CSV lacks, with the values its `nvidia-smi -q -x` (smi_q.xml, the same host and
# moment) reports: <aggregate> uncorrectable ECC all 0; <clocks_event_reasons> hw/sw thermal and power brake
# slowdown "Not Active".
EXTRA_FIELDS = {
    'ecc.errors.uncorrected.aggregate.total': '0',
    'clocks_event_reasons.hw_thermal_slowdown': 'Not Active',
    'clocks_event_reasons.sw_thermal_slowdown': 'Not Active',
    'clocks_event_reasons.hw_power_brake_slowdown': 'Not Active',
}
KNOWN_FIELDS = tuple(CAPTURED_FIELDS) + tuple(EXTRA_FIELDS)
GPU_IS_LOST = 'GPU is lost. Reboot the system to recover this GPU'
RC_GPU_IS_LOST = 15
NO_NVLINK = 'NVML: Unable to retrieve Nvlink information as all links are inActive'
NVLINK_COUNTERS = ('Replay Errors', 'Recovery Errors', 'CRC Errors')

INSTALLED_FIXTURES = '/usr/local/share/nvidia-smi-double'


def fixtures():
    if os.environ.get('NVIDIA_SMI_DOUBLE_FIXTURES'):
        return os.environ['NVIDIA_SMI_DOUBLE_FIXTURES']
    return INSTALLED_FIXTURES if os.path.isdir(INSTALLED_FIXTURES) else DEFAULT_FIXTURES


def read(name):
    with open(os.path.join(fixtures(), name)) as handle:
        return handle.read()


def profile():
    raw = os.environ.get('NVIDIA_SMI_DOUBLE_PROFILE', '')
    if not raw:
        path = '/etc/nvidia-smi-double.json'
        raw = open(path).read() if os.path.exists(path) else '{}'
    elif not raw.lstrip().startswith('{'):
        raw = open(raw).read()
    return json.loads(raw)


def captured_rows(prof, units):
    """One dict field -> cell per GPU, from the real capture, widened to prof['gpus']."""
    name = 'smi_query_nounits.csv' if not units else 'smi_query.csv'
    lines = [line for line in read(name).splitlines() if line.strip()]
    if units:
        lines = lines[1:]
    cells = [c.strip() for c in next(csv.reader([lines[0]]))]
    base = dict(zip(CAPTURED_FIELDS, cells))
    base.update(EXTRA_FIELDS)
    count = int(prof.get('gpus', 1))
    rows = []
    for i in range(count):
        row = dict(base)
        row['index'] = str(i)
        row['count'] = str(count)
        row['uuid'] = base['uuid'][:-2] + '%02x' % i if i else base['uuid']
        row['pci.bus_id'] = '00000000:%02X:00.0' % (0x06 + i) if i else base['pci.bus_id']
        if prof.get('driver_version'):
            row['driver_version'] = prof['driver_version']
        for field, value in prof.get('set', {}).items():
            row[field] = str(value)
        for idx, changes in prof.get('set_gpu', {}).items():
            if int(idx) == i:
                row.update((k, str(v)) for k, v in changes.items())
        if str(i) in persistence_state():
            row['persistence_mode'] = persistence_state()[str(i)]
        rows.append(row)
    return rows


def persistence_state_path():
    return os.environ.get('NVIDIA_SMI_DOUBLE_STATE', '/var/lib/nvidia-smi-double/persistence.json')


def persistence_state():
    """{GPU index: 'Enabled' | 'Disabled'} set by -pm, {} when never set."""
    path = persistence_state_path()
    return json.load(open(path)) if os.path.exists(path) else {}


def set_persistence(argv, prof):
    """nvidia-smi -pm 0|1 [-i N]: sets the mode of each GPU asked, as the driver does."""
    value = argv[argv.index('-pm') + 1] if '-pm' in argv and argv.index('-pm') + 1 < len(argv) else \
        next((a.split('=', 1)[1] for a in argv if a.startswith('--persistence-mode=')), '')
    if value not in ('0', '1', 'ENABLED', 'DISABLED'):
        sys.stdout.write('Invalid combination of input arguments. Please run \'nvidia-smi -h\' for help.\n')
        return 2
    mode = 'Enabled' if value in ('1', 'ENABLED') else 'Disabled'
    only = argv[argv.index('-i') + 1] if '-i' in argv else None
    state = persistence_state()
    for row in captured_rows(prof, units=False):
        if only is not None and row['index'] != only:
            continue
        if row['persistence_mode'] == mode:
            sys.stdout.write('Persistence mode is already %s for GPU %s.\n' % (mode, row['pci.bus_id']))
        else:
            # Without nvidia-persistenced (none runs on a test host), the driver's own mode: "Legacy".
            sys.stdout.write('%s Legacy persistence mode for GPU %s.\n' % (mode, row['pci.bus_id']))
        state[row['index']] = mode
    folder = os.path.dirname(persistence_state_path())
    if not os.path.isdir(folder):
        os.makedirs(folder)
    with open(persistence_state_path(), 'w') as handle:
        json.dump(state, handle)
    sys.stdout.write('All done.\n')
    return 0


def loaded_rows(prof):
    """The capture under load, in the same shape as captured_rows (units stripped, as nounits does)."""
    lines = [line for line in read('smi_query_loaded.csv').splitlines() if line.strip()]
    cells = [re.sub(r' (MiB|%|W|MHz)$', '', c.strip()) for c in next(csv.reader([lines[1]]))]
    loaded = dict(zip(CAPTURED_FIELDS, cells))
    rows = captured_rows(prof, units=False)
    for row in rows:
        row.update((k, v) for k, v in loaded.items()
                   if k in ('memory.used', 'memory.free', 'utilization.gpu', 'utilization.memory', 'power.draw',
                            'power.draw.instant', 'temperature.gpu', 'clocks.sm'))
    return rows


def loop_interval(argv):
    """Seconds between two reports in loop mode (-lms N, --loop-ms=N, -l N, --loop=N), or None."""
    for i, arg in enumerate(argv):
        for flag, scale in (('-lms', 0.001), ('--loop-ms', 0.001), ('-l', 1.0), ('--loop', 1.0)):
            if arg == flag and i + 1 < len(argv):
                return float(argv[i + 1]) * scale
            if arg.startswith(flag + '='):
                return float(arg.split('=', 1)[1]) * scale
    return None


def query_gpu(arg, fmt, prof, interval=None):
    fields = arg.split('=', 1)[1].split(',')
    unknown = set(prof.get('unknown_fields', []))
    for field in fields:
        if field not in KNOWN_FIELDS or field in unknown:
            sys.stdout.write('Field "%s" is not a valid field to query.\n\n' % field)
            return 2
    units = 'nounits' not in fmt
    if interval is None:
        rows = captured_rows(prof, units)
        write_rows(fields, [row for row in rows if not is_lost(prof, row)], 'noheader' not in fmt)
        return say_lost(prof, rows)
    rows = loaded_rows(prof) if prof.get('loop', 'loaded') == 'loaded' else captured_rows(prof, False)
    header = 'noheader' not in fmt
    while True:  # until killed, like nvidia-smi's loop mode
        write_rows(fields, rows, header)
        header = False
        time.sleep(interval)


def write_rows(fields, rows, header):
    out = io.StringIO()
    if header:
        out.write(', '.join(fields) + '\n')
    for row in rows:
        out.write(', '.join(row[f] for f in fields) + '\n')
    sys.stdout.write(out.getvalue())
    sys.stdout.flush()


def is_lost(prof, row):
    return int(row['index']) in [int(i) for i in prof.get('lost_gpus', [])]


def say_lost(prof, rows):
    """nvidia-smi's line for each GPU that fell off the bus, after what it printed for the others; the exit code."""
    lost = [row for row in rows if is_lost(prof, row)]
    for row in lost:
        sys.stdout.write('Unable to determine the device handle for GPU%s: %s: %s\n' % (
            row['index'], row['pci.bus_id'][4:], GPU_IS_LOST))
    sys.stdout.flush()
    return RC_GPU_IS_LOST if lost else 0


def nvlink_errors(prof):
    """`nvidia-smi nvlink -e`: per GPU its header, then three counters per link, a blank line after each link."""
    rows = captured_rows(prof, units=False)
    links = int(prof.get('nvlink_links', 18))
    errors = prof.get('nvlink_errors', {})
    out = []
    for row in rows:
        if is_lost(prof, row):
            continue
        out.append('GPU %s: %s (UUID: %s)\n' % (row['index'], row['name'], row['uuid']))
        if not links:
            out.append('\t %s\n' % prof.get('nvlink_message', NO_NVLINK))
            continue
        mine = errors.get(row['index'], {})
        for link in range(links):
            counters = mine.get(str(link), {})
            out.extend('\t Link %d: %s: %s\n' % (link, name, counters.get(name, 0)) for name in NVLINK_COUNTERS)
            out.extend('\t Link %d: %s: %s\n' % (link, name, value)
                       for name, value in sorted(counters.items()) if name not in NVLINK_COUNTERS)
            out.append('\n')
    sys.stdout.write(''.join(out))
    return say_lost(prof, rows)


def compute_apps(fmt, prof):
    lines = [line for line in read('smi_apps.csv').splitlines() if line.strip()]
    if prof.get('no_processes'):
        lines = lines[:1]
    if 'noheader' in fmt:
        lines = lines[1:]
    if 'nounits' in fmt:
        lines = [line.replace(' MiB', '') for line in lines]
    sys.stdout.write('\n'.join(lines) + ('\n' if lines else ''))
    return 0


def versioned(text, prof):
    if prof.get('driver_version'):
        text = text.replace('580.159.04', prof['driver_version']).replace('580.159', prof['driver_version'].rsplit('.', 1)[0])
    if prof.get('cuda_version'):
        text = re.sub(r'(CUDA Version\s*:?\s*)13\.0', r'\g<1>' + prof['cuda_version'], text)
    return text


def plain_table(prof):
    """The plain ``nvidia-smi`` capture, one GPU block (its three lines and the rule under them) per GPU of the profile,
    with the index and bus id captured_rows gives each."""
    lines = versioned(read('smi_plain.txt'), prof).splitlines(True)
    rows = captured_rows(prof, units=False)
    start = next(i for i, line in enumerate(lines) if line.startswith('|=')) + 1
    block = ''.join(lines[start:start + 4])
    gpus = [block.replace('|   0  ', '|   %d  ' % i, 1).replace(rows[0]['pci.bus_id'], row['pci.bus_id'], 1)
            for i, row in enumerate(rows) if not is_lost(prof, row)]
    return ''.join(lines[:start]) + ''.join(gpus) + ''.join(lines[start + 4:])


def main(argv):
    prof = profile()
    if prof.get('driver_down'):
        sys.stdout.write(DRIVER_DOWN)
        return 9
    fmt = next((a.split('=', 1)[1] for a in argv if a.startswith('--format=')), 'csv')
    for arg in argv:
        if arg.startswith('--query-gpu='):
            return query_gpu(arg, fmt, prof, loop_interval(argv))
        if arg.startswith('--query-compute-apps='):
            return compute_apps(fmt, prof)
    if '-pm' in argv or any(a.startswith('--persistence-mode=') for a in argv):
        return set_persistence(argv, prof)
    if argv[:1] == ['--version']:
        sys.stdout.write(versioned(read('smi_version.txt'), prof))
        return 0
    if argv[:2] == ['topo', '-m']:
        sys.stdout.write(read('smi_topo.txt'))
        return 0
    if argv[:1] == ['-L']:
        sys.stdout.write(read('smi_L.txt'))
        return 0
    if argv[:1] == ['nvlink'] and ('-e' in argv or '--errorcounters' in argv):
        return nvlink_errors(prof)
    if not argv:
        rc = say_lost(prof, captured_rows(prof, units=False))  # the lost GPUs' lines come before the table
        sys.stdout.write(plain_table(prof))
        return rc
    sys.stderr.write('nvidia-smi test double: no capture for arguments %r\n' % (argv,))
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
