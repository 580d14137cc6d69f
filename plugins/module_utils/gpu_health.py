# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Is the GPU healthy? Judging a node's GPUs on day 2 (stdlib only; runs on the node).

Two external formats are parsed here: the kernel log, where the NVIDIA driver writes its ``NVRM: Xid`` lines, as
``journalctl -k -o short-iso``, ``dmesg --ctime``, plain ``dmesg`` and syslog files print it; and
``nvidia-smi nvlink -e``. The ``--query-gpu`` answer comes from nvidia_smi.collect(). Nothing here runs a process:
every function takes text or parsed values, so the module that runs the commands stays thin.

Each check has the shape of gpu_host_checks' checks (``check``, ``status``, ``message``, ``found``, ``expected``),
with ``name`` beside ``check`` (the same value). Statuses: ok, warn, fail, skip (not checked, and why).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import re
import time

# Xids that NVIDIA's Xid catalog sends to a GPU reset, a reboot or a hardware investigation (memory, NVLink, the bus,
# the GSP firmware), rather than to the application: a node with one of these in the window is sick.
DEFAULT_FAIL_XIDS = (48, 63, 64, 74, 79, 92, 94, 95, 119, 120, 140)

# What each Xid means, in the words of NVIDIA's Xid catalog (docs.nvidia.com/deploy/xid-errors).
XID_NAMES = {
    8: 'GPU stopped processing',
    13: 'Graphics Engine Exception',
    31: 'GPU memory page fault',
    32: 'Invalid or corrupted push buffer stream',
    38: 'Driver firmware error',
    43: 'GPU stopped processing',
    45: 'Preemptive cleanup, due to previous errors',
    48: 'Double Bit ECC Error',
    61: 'Internal micro-controller breakpoint/warning',
    62: 'Internal micro-controller halt',
    63: 'ECC page retirement or row remapping recording event',
    64: 'ECC page retirement or row remapper recording failure',
    68: 'Video processor exception',
    69: 'Graphics Engine class error',
    74: 'NVLink error',
    79: 'GPU has fallen off the bus',
    92: 'High single-bit ECC error rate',
    94: 'Contained ECC error',
    95: 'Uncontained ECC error',
    109: 'Context Switch Timeout Error',
    119: 'GSP RPC timeout',
    120: 'GSP error',
    121: 'C2C link error',
    140: 'Unrecovered ECC error',
    154: 'GPU recovery action changed',
}

# Clock slowdowns that mean heat or power trouble: query field -> (result key, plain words).
THROTTLE_REASONS = (
    ('clocks_event_reasons.hw_thermal_slowdown', 'clocks_event_reasons_hw_thermal_slowdown',
     'HW thermal slowdown (the GPU or its memory is over its temperature limit)'),
    ('clocks_event_reasons.sw_thermal_slowdown', 'clocks_event_reasons_sw_thermal_slowdown',
     'SW thermal slowdown (the driver lowers the clocks to hold the GPU under its temperature target)'),
    ('clocks_event_reasons.hw_power_brake_slowdown', 'clocks_event_reasons_hw_power_brake_slowdown',
     'HW power brake slowdown (the power brake signal is asserted, e.g. by the power supply)'),
)
# The same reasons as bits of clocks_event_reasons.active (nvmlClocksEventReason*), for a driver that answers the
# mask but not the single fields.
_THROTTLE_BITS = {
    'clocks_event_reasons_sw_thermal_slowdown': 0x20,
    'clocks_event_reasons_hw_thermal_slowdown': 0x40,
    'clocks_event_reasons_hw_power_brake_slowdown': 0x80,
}

# ---------------------------------------------------------------------------------------------------------------------
# The kernel log

# journalctl -o short-iso (and short-iso-precise): "2026-11-22T05:07:21+00:00 host kernel: MESSAGE" (systemd < 255
# prints the offset as +0000); dmesg --time-format iso: "2026-11-22T05:07:21,123456+00:00 MESSAGE".
_ISO = re.compile(r'^(?P<date>\d{4}-\d{2}-\d{2})T(?P<clock>\d{2}:\d{2}:\d{2})(?:[.,]\d+)?'
                  r'(?P<zone>Z|[+-]\d{2}:?\d{2})?\s+(?P<rest>.*)$')
# dmesg --ctime / -T: "[Sun Nov 22 05:07:21 2026] MESSAGE" (local time).
_CTIME = re.compile(r'^\[(?P<ctime>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})\]\s?(?P<rest>.*)$')
# dmesg: "[ 5107.644336] MESSAGE" (seconds since boot).
_MONOTONIC = re.compile(r'^\[\s*(?P<mono>\d+\.\d+)\]\s?(?P<rest>.*)$')
# journalctl's default output and syslog files (/var/log/kern.log): "Nov 22 05:07:21 host kernel: MESSAGE".
_SYSLOG = re.compile(r'^(?P<stamp>[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2})\s+(?P<rest>.*)$')
# The "host kernel: " that journalctl and syslog put before the message.
_HOST_IDENT = re.compile(r'^\S+\s+kernel:\s?')

# The driver's Xid line: "NVRM: Xid (PCI:0000:3b:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus."
# Older drivers print the bus id without "PCI:" and no pid: "NVRM: Xid (0000:03:00): 14, Channel 00000001".
_XID = re.compile(r'NVRM: Xid \((?:PCI:)?(?P<pci>[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}(?:\.[0-7])?)\): '
                  r'(?P<xid>\d+)(?:,\s*(?P<detail>.*))?$')
_XID_PID = re.compile(r"^pid=(?P<pid>'[^']*'|[^,\s]*),\s*(?:name=(?P<name>[^,]*),\s*)?(?P<text>.*)$")
# The driver's own line when a GPU drops from the bus: "NVRM: GPU 0000:3b:00.0: GPU has fallen off the bus." or,
# from older drivers, "NVRM: GPU at 0000:01:00.0 has fallen off the bus."
_FALLEN = re.compile(r'NVRM: GPU (?:at )?(?:PCI:)?(?P<pci>[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}(?:\.[0-7])?)'
                     r'\b.*fallen off the bus')


def _iso_epoch(date, clock, zone):
    seconds = calendar.timegm(time.strptime(date + ' ' + clock, '%Y-%m-%d %H:%M:%S'))
    if zone and zone != 'Z':
        digits = zone[1:].replace(':', '')
        offset = int(digits[:2]) * 3600 + int(digits[2:]) * 60
        seconds -= offset if zone[0] == '+' else -offset
    elif not zone:
        seconds = time.mktime(time.strptime(date + ' ' + clock, '%Y-%m-%d %H:%M:%S'))
    return float(seconds)


def parse_log_line(line, now=None, uptime=None):
    """One kernel log line -> {time (as printed), epoch (seconds, None when unknown), message}, or None for lines
    that carry no message (journalctl's "-- No entries --", blank lines).

    ``now`` and ``uptime`` (seconds since boot, /proc/uptime) turn plain dmesg's seconds since boot into
    wall-clock time; without them those lines have no epoch.
    """
    line = line.rstrip('\r\n')
    if not line.strip() or line.startswith('-- '):
        return None
    stamp, epoch, rest = None, None, line
    match = _ISO.match(line)
    if match:
        stamp, rest = line[:match.start('rest')].strip(), match.group('rest')
        epoch = _iso_epoch(match.group('date'), match.group('clock'), match.group('zone'))
    else:
        match = _CTIME.match(line)
        if match:
            stamp, rest = match.group('ctime'), match.group('rest')
            epoch = time.mktime(time.strptime(re.sub(r'\s+', ' ', stamp), '%a %b %d %H:%M:%S %Y'))
        else:
            match = _SYSLOG.match(line)
            if match:
                stamp, rest = match.group('stamp'), match.group('rest')
                epoch = _syslog_epoch(stamp, now)
    rest = _HOST_IDENT.sub('', rest, count=1)
    # dmesg's seconds since boot: the whole stamp of plain dmesg, or inside a syslog line (kern.log).
    match = _MONOTONIC.match(rest)
    if match:
        rest = match.group('rest')
        if stamp is None:
            stamp = '[%s]' % match.group('mono')
            if now is not None and uptime is not None:
                epoch = now - uptime + float(match.group('mono'))
    return {'time': stamp, 'epoch': epoch, 'message': rest}


def _syslog_epoch(stamp, now):
    """Syslog stamps have no year: the latest year that does not put the line in the future."""
    now = time.time() if now is None else now
    year = time.localtime(now).tm_year
    for candidate in (year, year - 1):
        try:
            epoch = time.mktime(time.strptime('%d %s' % (candidate, re.sub(r'\s+', ' ', stamp)), '%Y %b %d %H:%M:%S'))
        except ValueError:
            return None
        if epoch <= now + 86400:
            return epoch
    return epoch


def iso_time(epoch):
    """Seconds since the epoch as ISO 8601 in UTC (how the checks' messages give times)."""
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def parse_kernel_log(text, now=None, uptime=None, since=None):
    """The NVIDIA events of a kernel log: {'xids': [...], 'fallen_off_bus': [...]}.

    Each Xid: {xid, pci (the bus id as the driver wrote it, e.g. 0000:3b:00), pid, process, text (the driver's
    words after the pid and name), time, epoch, line}. Each fallen_off_bus: {pci, time, epoch, line}. Lines older
    than ``since`` (seconds since the epoch) are left out; lines whose time is unknown are kept.
    """
    xids, fallen = [], []
    for raw in (text or '').splitlines():
        if 'NVRM' not in raw:
            continue
        entry = parse_log_line(raw, now, uptime)
        if entry is None or (since is not None and entry['epoch'] is not None and entry['epoch'] < since):
            continue
        message = entry['message']
        match = _XID.search(message)
        if match:
            detail = (match.group('detail') or '').strip()
            pid = process = None
            who = _XID_PID.match(detail)
            if who:
                pid, process, detail = who.group('pid').strip("'"), (who.group('name') or '').strip() or None, who.group('text')
            xids.append({'xid': int(match.group('xid')), 'pci': match.group('pci').lower(), 'pid': pid,
                         'process': process, 'text': detail.strip(), 'time': entry['time'], 'epoch': entry['epoch'],
                         'line': raw.strip()})
            continue
        match = _FALLEN.search(message)
        if match:
            fallen.append({'pci': match.group('pci').lower(), 'time': entry['time'], 'epoch': entry['epoch'],
                           'line': raw.strip()})
    return {'xids': xids, 'fallen_off_bus': fallen}


def log_unusable(rc, out, err):
    """Why a kernel log command's answer cannot be used, or None when it can: a non-zero exit, or journalctl
    saying it has no journal to read (it exits 0 then, e.g. in a container without journald)."""
    text = '\n'.join(part for part in (out, err) if part).strip()
    if rc != 0:
        return 'rc=%s: %s' % (rc, text[-300:] or '(no output)')
    if 'No journal files were found' in text:
        return 'No journal files were found'
    return None


# ---------------------------------------------------------------------------------------------------------------------
# nvidia-smi nvlink -e

_NVLINK_GPU = re.compile(r'^GPU (?P<index>\d+): (?P<name>.*?)(?: \(UUID: (?P<uuid>[^)]+)\))?\s*$')
_NVLINK_COUNTER = re.compile(r'^\s*Link (?P<link>\d+): (?P<counter>[^:]+): (?P<value>.*?)\s*$')
_NVLINK_NOTE = re.compile(r'^\s*(?P<note>NVML: .*?)\s*$')


def parse_nvlink_errors(text):
    """``nvidia-smi nvlink -e`` -> one dict per GPU: {index, name, uuid, links: {link: {counter: value}}, note}.

    Counters are kept under nvidia-smi's names (``Replay Errors``, ``Recovery Errors``, ``CRC Errors``; older
    drivers ``CRC Flit Errors`` and ``CRC Data Errors``; newer ones add more); a value that is not a number (N/A, a
    bit error rate) stays a string. ``note`` holds an NVML line printed for the GPU instead of links (e.g. "NVML:
    Unable to retrieve Nvlink information as all links are inActive"). A GPU nvidia-smi cannot reach is not here
    (see nvidia_smi.parse_lost_gpus).
    """
    gpus = []
    current = None
    for line in (text or '').splitlines():
        match = _NVLINK_GPU.match(line)
        if match:
            current = {'index': int(match.group('index')), 'name': match.group('name').strip(),
                       'uuid': match.group('uuid'), 'links': {}, 'note': None}
            gpus.append(current)
            continue
        if current is None:
            continue
        match = _NVLINK_COUNTER.match(line)
        if match:
            value = match.group('value')
            current['links'].setdefault(int(match.group('link')), {})[match.group('counter').strip()] = (
                int(value) if value.isdigit() else value)
            continue
        match = _NVLINK_NOTE.match(line)
        if match:
            current['note'] = match.group('note')
    return gpus


def _link_errors(counters):
    """The replay, recovery and CRC counters of one link that are above zero."""
    return dict((name, value) for name, value in counters.items()
                if re.search(r'replay|recovery|crc', name, re.I) and isinstance(value, int) and value > 0)


# ---------------------------------------------------------------------------------------------------------------------
# The checks


def check(name, status, message, found=None, expected=None):
    """One check, shaped as gpu_host_checks' checks, with ``name`` beside ``check``."""
    return {'check': name, 'name': name, 'status': status, 'message': message, 'found': found, 'expected': expected}


def faults(checks):
    """The messages of the checks that failed or warned, failures first, each led by its check's name."""
    order = {'fail': 0, 'warn': 1}
    bad = sorted((c for c in checks if c['status'] in order), key=lambda c: order[c['status']])
    return ['%s (%s): %s' % (c['check'], c['status'], c['message']) for c in bad]


def healthy(checks):
    return not any(c['status'] == 'fail' for c in checks)


def pci_key(bus_id):
    """A bus id as (domain, bus, device), comparable between nvidia-smi (00000000:3B:00.0) and the kernel log
    (0000:3b:00); None when it is not one."""
    match = re.match(r'^([0-9A-Fa-f]{4,8}):([0-9A-Fa-f]{2}):([0-9A-Fa-f]{2})', str(bus_id or ''))
    return tuple(int(part, 16) for part in match.groups()) if match else None


def gpu_label(gpu):
    return 'GPU %s (%s)' % (gpu.get('index'), gpu.get('pci_bus_id'))


def _gpu_by_pci(gpus, pci):
    key = pci_key(pci)
    return next((g for g in gpus if key is not None and pci_key(g.get('pci_bus_id')) == key), None)


def _label_for_pci(gpus, lost, pci):
    gpu = _gpu_by_pci(list(gpus) + [g for g in lost if g.get('pci_bus_id')], pci)
    if gpu is None:
        return 'GPU at PCI %s' % pci
    return gpu_label(gpu) if gpu.get('index') is not None else 'GPU at PCI %s' % gpu['pci_bus_id']


def _when(event):
    return iso_time(event['epoch']) if event.get('epoch') is not None else (event.get('time') or 'an unknown time')


def _not_answered(name, nvidia):
    return check(name, 'skip', 'not checked: nvidia-smi did not answer (%s)' % (nvidia.get('msg') or nvidia.get('reason')))


def check_gpu_lost(nvidia, kernel):
    """fail when nvidia-smi is missing or cannot talk to the driver, when it says a GPU is lost, or when the kernel
    log of the window says a GPU fell off the bus (Xid 79 or the driver's own line)."""
    found = {'nvidia_smi': nvidia.get('lost_gpus') or [], 'kernel_log': []}
    kernel = kernel or {}
    gpus = nvidia.get('gpus') or []
    fallen = list(kernel.get('fallen_off_bus') or []) + [x for x in kernel.get('xids') or [] if x['xid'] == 79]
    seen = set()
    words = []
    for lost in found['nvidia_smi']:
        label = 'GPU %s (%s)' % (lost['index'], lost['pci_bus_id']) if lost.get('index') is not None else (
            'GPU at PCI %s' % lost['pci_bus_id'])
        words.append('%s: nvidia-smi cannot reach it: %s' % (label, lost['reason']))
    for event in fallen:
        key = pci_key(event['pci'])
        if key in seen:
            continue
        seen.add(key)
        found['kernel_log'].append(dict((k, event.get(k)) for k in ('pci', 'time', 'line')))
        words.append('%s: the kernel log says it fell off the bus at %s' % (
            _label_for_pci(gpus, found['nvidia_smi'], event['pci']), _when(event)))
    if not nvidia.get('ok'):
        words.insert(0, nvidia.get('msg') or 'nvidia-smi did not answer')
        return check('gpu_lost', 'fail', '; '.join(words), dict(found, reason=nvidia.get('reason')),
                     'nvidia-smi answering for every GPU')
    if words:
        return check('gpu_lost', 'fail', '; '.join(words) + ' (a GPU that fell off the bus needs a reboot, '
                     'and a hardware check if it happens again)', found, 'every GPU on the bus')
    return check('gpu_lost', 'ok', 'nvidia-smi answers for all %d GPU(s); none fell off the bus' % len(gpus),
                 found, 'every GPU on the bus')


def check_xid(kernel, gpus, fail_xids=DEFAULT_FAIL_XIDS, window=None, lost=None):
    """fail for an Xid of ``fail_xids`` in the kernel log's window, warn for any other Xid, skip when the kernel log
    could not be read."""
    kernel = kernel or {}
    span = 'the last %s s' % window if window else 'the kernel log'
    if kernel.get('source') is None:
        return check('xid', 'skip', 'not checked: the kernel log could not be read (%s); reading it may need '
                     'become: true' % (kernel.get('error') or 'no reader'), None, 'no Xid in %s' % span)
    fail_xids = set(int(x) for x in fail_xids)
    groups = {}
    for event in kernel.get('xids') or []:
        key = (event['pci'], event['xid'])
        group = groups.setdefault(key, {'xid': event['xid'], 'pci': event['pci'], 'count': 0, 'first': event,
                                        'last': event})
        group['count'] += 1
        group['last'] = event
    found = []
    words = []
    ordered = sorted(groups.values(), key=lambda g: (g['xid'] not in fail_xids, g['last'].get('epoch') or 0))
    for group in ordered:
        last = group['last']
        gpu = _gpu_by_pci(gpus, group['pci'])
        label = _label_for_pci(gpus, lost or [], group['pci'])
        name = XID_NAMES.get(group['xid'], "see NVIDIA's Xid catalog")
        text = '%s: Xid %d (%s) at %s' % (label, group['xid'], name, _when(last))
        if group['count'] > 1:
            text += ' (%d times since %s)' % (group['count'], _when(group['first']))
        if last['text'] and not last['text'].lower().startswith(name.lower()):
            text += ': %s' % last['text'].rstrip('.')
        words.append(text)
        found.append({'xid': group['xid'], 'name': name, 'gpu': gpu.get('index') if gpu else None, 'pci': group['pci'],
                      'count': group['count'], 'last_time': _when(last), 'pid': last['pid'],
                      'process': last['process'], 'text': last['text'], 'severity':
                      'fail' if group['xid'] in fail_xids else 'warn'})
    expected = 'no Xid in %s; Xids %s fail, others warn' % (span, ', '.join(str(x) for x in sorted(fail_xids)))
    if not found:
        return check('xid', 'ok', 'no Xid in %s (%s)' % (span, kernel['source']), [], expected)
    status = 'fail' if any(f['severity'] == 'fail' for f in found) else 'warn'
    return check('xid', status, '; '.join(words), found, expected)


def check_ecc(nvidia):
    """fail on uncorrectable ECC errors since the driver loaded (volatile), warn on any in the GPU's life
    (aggregate)."""
    if not nvidia.get('ok'):
        return _not_answered('ecc_uncorrected', nvidia)
    gpus = nvidia.get('gpus') or []
    found = [{'gpu': g.get('index'), 'pci_bus_id': g.get('pci_bus_id'),
              'volatile': g.get('ecc_errors_uncorrected_volatile_total'),
              'aggregate': g.get('ecc_errors_uncorrected_aggregate_total')} for g in gpus]
    expected = {'volatile': 0, 'aggregate': 0}
    if not any(isinstance(f['volatile'], int) or isinstance(f['aggregate'], int) for f in found):
        return check('ecc_uncorrected', 'skip', 'not checked: no GPU reports ECC counters (ECC off or not '
                     'supported)', found, expected)
    volatile = [(g, f['volatile']) for g, f in zip(gpus, found) if isinstance(f['volatile'], int) and f['volatile'] > 0]
    aggregate = [(g, f['aggregate']) for g, f in zip(gpus, found)
                 if isinstance(f['aggregate'], int) and f['aggregate'] > 0]
    words = ['%s: %d uncorrectable ECC error(s) since the driver loaded (volatile)' % (gpu_label(g), n)
             for g, n in volatile]
    words += ['%s: %d uncorrectable ECC error(s) in its lifetime (aggregate)' % (gpu_label(g), n)
              for g, n in aggregate if g not in [v[0] for v in volatile]]
    if volatile:
        return check('ecc_uncorrected', 'fail', '; '.join(words) + ' (memory is failing: drain the node, reset '
                     'the GPU, replace it if it happens again)', found, expected)
    if aggregate:
        return check('ecc_uncorrected', 'warn', '; '.join(words) + ' (none since the driver loaded; watch it)',
                     found, expected)
    return check('ecc_uncorrected', 'ok', 'no uncorrectable ECC errors on %d GPU(s) (volatile and aggregate)'
                 % len(gpus), found, expected)


def check_row_remapping(nvidia):
    """fail on a failed row remapping, or a remapping or page retirement waiting for a GPU reset."""
    if not nvidia.get('ok'):
        return _not_answered('row_remapping', nvidia)
    gpus = nvidia.get('gpus') or []
    keys = ('remapped_rows_failure', 'remapped_rows_pending', 'retired_pages_pending')
    found = [dict([('gpu', g.get('index')), ('pci_bus_id', g.get('pci_bus_id'))] + [(k, g.get(k)) for k in keys])
             for g in gpus]
    expected = dict((k, False) for k in keys)
    if not any(isinstance(g.get(k), bool) for g in gpus for k in keys):
        return check('row_remapping', 'skip', 'not checked: no GPU reports row remapping or page retirement',
                     found, expected)
    words = []
    for gpu in gpus:
        if gpu.get('remapped_rows_failure'):
            words.append('%s: row remapping failed (a memory row could not be replaced: the GPU needs service)'
                         % gpu_label(gpu))
        if gpu.get('remapped_rows_pending'):
            words.append('%s: a row remapping is pending (reset the GPU or reboot to apply it)' % gpu_label(gpu))
        if gpu.get('retired_pages_pending'):
            words.append('%s: a page retirement is pending (reset the GPU or reboot to apply it)' % gpu_label(gpu))
    if words:
        return check('row_remapping', 'fail', '; '.join(words), found, expected)
    return check('row_remapping', 'ok', 'no row remapping failed or pending and no page retirement pending on '
                 '%d GPU(s)' % len(gpus), found, expected)


def check_nvlink(nvlink, nvidia):
    """warn when a replay, recovery or CRC counter of an NVLink link is above zero; skip when no GPU has NVLink."""
    expected = 'replay, recovery and CRC error counters at 0'
    if nvlink is None:
        return check('nvlink_errors', 'skip', 'not checked (nvlink: false)', None, expected)
    if not nvidia.get('ok'):
        return _not_answered('nvlink_errors', nvidia)
    parsed = nvlink.get('gpus') or []
    if nvlink.get('error') and not parsed:
        return check('nvlink_errors', 'skip', 'not checked: nvidia-smi nvlink -e did not answer (%s)'
                     % nvlink['error'], None, expected)
    by_index = dict((g.get('index'), g) for g in nvidia.get('gpus') or [])
    with_links = [g for g in parsed if g['links']]
    if not with_links:
        notes = sorted(set(g['note'] for g in parsed if g['note']))
        return check('nvlink_errors', 'skip', 'no GPU has NVLink%s' % (
            ' (nvidia-smi: %s)' % '; '.join(notes) if notes else ''), [], expected)
    found = []
    words = []
    for gpu in with_links:
        label = gpu_label(by_index[gpu['index']]) if gpu['index'] in by_index else 'GPU %s' % gpu['index']
        for link in sorted(gpu['links']):
            errors = _link_errors(gpu['links'][link])
            if errors:
                found.append({'gpu': gpu['index'], 'link': link, 'counters': errors})
                words.append('%s link %d: %s' % (label, link, ', '.join(
                    '%s %d' % (name, value) for name, value in sorted(errors.items()))))
    links = sum(len(g['links']) for g in with_links)
    if words:
        return check('nvlink_errors', 'warn', '; '.join(words) + ' (counted since the driver loaded or the counters '
                     'were reset; errors that keep rising mean a bad link: reseat or service it)', found, expected)
    return check('nvlink_errors', 'ok', 'no replay, recovery or CRC errors on %d NVLink link(s) of %d GPU(s)' % (
        links, len(with_links)), found, expected)


def _throttle_flags(gpu):
    flags = dict((key, gpu.get(key)) for _field, key, _words in THROTTLE_REASONS)
    if all(value is None for value in flags.values()):
        mask = gpu.get('clocks_event_reasons_active')
        try:
            bits = int(str(mask), 16)
        except (TypeError, ValueError):
            return flags
        flags = dict((key, bool(bits & bit)) for key, bit in _THROTTLE_BITS.items())
    return flags


def check_throttle(nvidia):
    """warn when a GPU's clocks are slowed by heat (HW or SW thermal slowdown) or by the power brake."""
    if not nvidia.get('ok'):
        return _not_answered('throttle', nvidia)
    gpus = nvidia.get('gpus') or []
    found = []
    words = []
    for gpu in gpus:
        flags = _throttle_flags(gpu)
        active = [(field.split('.', 1)[1], text) for field, key, text in THROTTLE_REASONS if flags.get(key)]
        found.append(dict([('gpu', gpu.get('index')), ('pci_bus_id', gpu.get('pci_bus_id'))] +
                          [(field.split('.', 1)[1], flags.get(key)) for field, key, _text in THROTTLE_REASONS]))
        if active:
            state = ', '.join(part for part in (
                '%s C' % gpu['temperature_gpu_c'] if gpu.get('temperature_gpu_c') is not None else None,
                '%s W of %s W' % (gpu['power_draw_w'], gpu.get('power_limit_w')) if gpu.get('power_draw_w') is not None
                else None) if part)
            words.append('%s: clocks slowed by %s%s' % (gpu_label(gpu), ' and '.join(t for _n, t in active),
                                                        ' at %s' % state if state else ''))
    expected = dict((field.split('.', 1)[1], False) for field, _key, _text in THROTTLE_REASONS)
    if not any(value is not None for f in found for k, value in f.items() if k not in ('gpu', 'pci_bus_id')):
        return check('throttle', 'skip', 'not checked: no GPU reports its clock event reasons', found, expected)
    if words:
        return check('throttle', 'warn', '; '.join(words) + ' (check cooling, airflow and power)', found, expected)
    return check('throttle', 'ok', 'no thermal or power brake slowdown on %d GPU(s)' % len(gpus), found, expected)


def judge(nvidia, kernel, nvlink=None, fail_xids=DEFAULT_FAIL_XIDS, window=None):
    """Every check, in a fixed order.

    ``nvidia``: nvidia_smi.collect(..., lost_ok=True)'s result with ``ok`` True, or {ok: False, reason, msg}.
    ``kernel``: parse_kernel_log()'s result with ``source`` (the command read, None when none could be) and
    ``error``. ``nvlink``: {gpus: parse_nvlink_errors(), error}, or None when NVLink is not to be checked.
    """
    gpus = nvidia.get('gpus') or []
    return [
        check_gpu_lost(nvidia, kernel),
        check_xid(kernel, gpus, fail_xids, window, nvidia.get('lost_gpus')),
        check_ecc(nvidia),
        check_row_remapping(nvidia),
        check_nvlink(nvlink, nvidia),
        check_throttle(nvidia),
    ]
