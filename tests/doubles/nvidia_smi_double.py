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
  while a benchmark does; ``"loop": "idle"`` in the profile replays the idle capture instead.

A profile (JSON in $NVIDIA_SMI_DOUBLE_PROFILE, a file path or the JSON itself) changes the
replay the way other hosts would differ, each change named:
``{"gpus": 2, "set": {"ecc.errors.uncorrected.volatile.total": "3"}, "driver_version": "470.57.02",
"cuda_version": "11.4", "unknown_fields": ["memory.reserved"], "driver_down": true}``.
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
        rows.append(row)
    return rows


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
        if field not in CAPTURED_FIELDS or field in unknown:
            sys.stdout.write('Field "%s" is not a valid field to query.\n\n' % field)
            return 2
    units = 'nounits' not in fmt
    if interval is None:
        write_rows(fields, captured_rows(prof, units), 'noheader' not in fmt)
        return 0
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
            for i, row in enumerate(rows)]
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
    if argv[:1] == ['--version']:
        sys.stdout.write(versioned(read('smi_version.txt'), prof))
        return 0
    if argv[:2] == ['topo', '-m']:
        sys.stdout.write(read('smi_topo.txt'))
        return 0
    if argv[:1] == ['-L']:
        sys.stdout.write(read('smi_L.txt'))
        return 0
    if not argv:
        sys.stdout.write(plain_table(prof))
        return 0
    sys.stderr.write('nvidia-smi test double: no capture for arguments %r\n' % (argv,))
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
