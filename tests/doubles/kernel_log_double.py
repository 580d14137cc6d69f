#!/usr/bin/env python3
"""TEST DOUBLE for the kernel log readers ``journalctl -k`` and ``dmesg`` (no NVIDIA driver here writes Xid lines).

Installed as ``journalctl`` and ``dmesg`` (it answers as the name it is called by; under another name as
$KERNEL_LOG_DOUBLE_AS, else journalctl) on node containers, and called by unit tests. It replays the kernel lines
of a log file - $KERNEL_LOG_DOUBLE_FILE, else /usr/local/share/kernel-log-double/kern.log where a test host has it
installed, else tests/unit/fixtures/kernel_log/clean.log - in each command's real format:

* ``journalctl -k [-o short-iso|short-iso-precise|short] [--since -3600s] [--no-pager]``:
  ``2026-11-22T05:07:21+00:00 gpu-node-1 kernel: NVRM: Xid (PCI:0000:07:00): 79, ...``, or ``-- No entries --``.
  ``--since`` takes what a health check passes (``-Ns``, ``-Nmin``, ``-Nh``, ``-Nd``, or ``YYYY-MM-DD HH:MM:SS``)
  and drops the older lines, roughly (the double knows no boots). Called without ``-k``/``--dmesg`` (a
  ``journalctl -u unit`` of something else on the node), it hands over to the real journalctl where there is one.
* ``dmesg --ctime`` / ``-T``: ``[Sun Nov 22 05:07:21 2026] NVRM: ...`` (local time); plain ``dmesg``:
  ``[ 5107.644336] NVRM: ...`` (seconds since this machine booted, from /proc/uptime or $KERNEL_LOG_DOUBLE_UPTIME;
  lines from before the boot are not in a kernel's ring buffer, so they are left out: a test that must not depend
  on how long the machine it runs on has been up sets $KERNEL_LOG_DOUBLE_UPTIME).

The file holds lines as ``journalctl -k -o short-iso`` prints them (a real capture can be dropped in); lines
starting with ``#`` are comments. Its times are shifted so that its last line was logged
$KERNEL_LOG_DOUBLE_AGE seconds ago (default 60), the others keeping their distance to it, so that a window such
as the last hour always holds the same lines; ``asis`` keeps the file's times.

$KERNEL_LOG_DOUBLE_FAIL (``journalctl``, ``dmesg`` or both, comma-separated) makes a command fail as it does where
it cannot read the log: journalctl as in a container without a journal (``No journal files were found.``, exit 0
and no entries), dmesg as for a user without the right (``dmesg: read kernel buffer failed: Operation not
permitted``, exit 1). The same settings may come from /etc/kernel-log-double.json
(``{"file": ..., "age": 60, "fail": ["journalctl"]}``); the environment wins.
"""

import calendar
import json
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
INSTALLED_FILE = '/usr/local/share/kernel-log-double/kern.log'
DEFAULT_FILE = os.path.join(HERE, '..', 'unit', 'fixtures', 'kernel_log', 'clean.log')
CONFIG = '/etc/kernel-log-double.json'
REAL_JOURNALCTL = ('/usr/bin/journalctl', '/bin/journalctl')
LINE = re.compile(r'^(?P<date>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?P<fraction>[.,]\d+)?(?P<zone>Z|[+-]\d{2}:?\d{2})'
                  r'\s+(?P<host>\S+)\s+(?P<ident>[^:\s]+):\s?(?P<message>.*)$')


def settings():
    found = {}
    if os.path.exists(CONFIG):
        with open(CONFIG) as handle:
            found = json.load(handle)
    env = os.environ
    fail = env.get('KERNEL_LOG_DOUBLE_FAIL')
    return {
        'file': env.get('KERNEL_LOG_DOUBLE_FILE') or found.get('file') or (
            INSTALLED_FILE if os.path.exists(INSTALLED_FILE) else DEFAULT_FILE),
        'age': env.get('KERNEL_LOG_DOUBLE_AGE') or found.get('age', 60),
        'fail': [f.strip() for f in fail.split(',')] if fail is not None else list(found.get('fail', [])),
    }


def epoch_of(date, zone):
    seconds = calendar.timegm(time.strptime(date, '%Y-%m-%dT%H:%M:%S'))
    if zone != 'Z':
        digits = zone[1:].replace(':', '')
        offset = int(digits[:2]) * 3600 + int(digits[2:]) * 60
        seconds -= offset if zone[0] == '+' else -offset
    return seconds


def read_lines(conf, now):
    """The file's lines as dicts (epoch shifted, host, ident, message, colon: whether its offsets have one)."""
    lines = []
    with open(conf['file']) as handle:
        for raw in handle:
            raw = raw.rstrip('\n')
            if not raw.strip() or raw.startswith('#'):
                continue
            match = LINE.match(raw)
            if not match:
                sys.stderr.write('kernel log double: not a journalctl -o short-iso line: %r\n' % raw)
                continue
            fraction = float(match.group('fraction').replace(',', '.')) if match.group('fraction') else 0.0
            lines.append({'epoch': epoch_of(match.group('date'), match.group('zone')) + fraction,
                          'host': match.group('host'), 'ident': match.group('ident'),
                          'message': match.group('message'), 'colon': ':' in match.group('zone')})
    if lines and str(conf['age']) != 'asis':
        shift = now - float(conf['age']) - lines[-1]['epoch']
        for line in lines:
            line['epoch'] += shift
    return lines


def option(argv, names):
    """The value of an option given as ``--name value`` or ``--name=value`` (or ``-o value``)."""
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + '='):
                return arg.split('=', 1)[1]
    return None


UNITS = {'s': 1, 'sec': 1, 'second': 1, 'seconds': 1, 'm': 60, 'min': 60, 'minute': 60, 'minutes': 60,
         'h': 3600, 'hour': 3600, 'hours': 3600, 'd': 86400, 'day': 86400, 'days': 86400, '': 1}


def since_epoch(value, now):
    if value is None:
        return None
    match = re.match(r'^-\s*(\d+(?:\.\d+)?)\s*([a-z]*)$', value.strip())
    if match and match.group(2) in UNITS:
        return now - float(match.group(1)) * UNITS[match.group(2)]
    for fmt in ('%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M', '%Y-%m-%d'):
        try:
            return time.mktime(time.strptime(value, fmt))
        except ValueError:
            continue
    sys.stderr.write('Failed to parse timestamp: %s\n' % value)
    raise SystemExit(1)


def iso(epoch, colon, precise=False):
    local = time.localtime(epoch)
    zone = time.strftime('%z', local)
    if colon:
        zone = zone[:3] + ':' + zone[3:]
    fraction = ('.%06d' % int(round((epoch % 1) * 1e6)) if precise else '')
    return time.strftime('%Y-%m-%dT%H:%M:%S', local) + fraction + zone


def journalctl(argv, conf, now):
    if not ({'-k', '--dmesg'} & set(argv)):
        real = next((p for p in REAL_JOURNALCTL if os.path.exists(p) and os.path.realpath(p) != os.path.realpath(__file__)),
                    None)
        if real:
            os.execv(real, [real] + argv)
        sys.stdout.write('-- No entries --\n')
        return 0
    if 'journalctl' in conf['fail']:
        sys.stderr.write('No journal files were found.\n')
        sys.stdout.write('-- No entries --\n')
        return 0
    since = since_epoch(option(argv, ('--since', '-S')), now)
    output = option(argv, ('--output', '-o')) or 'short'
    out = []
    for line in read_lines(conf, now):
        if line['ident'] != 'kernel' or (since is not None and line['epoch'] < since):
            continue
        if output.startswith('short-iso'):
            stamp = iso(line['epoch'], line['colon'], precise=output == 'short-iso-precise')
        else:
            stamp = time.strftime('%b %d %H:%M:%S', time.localtime(line['epoch']))
        out.append('%s %s kernel: %s\n' % (stamp, line['host'], line['message']))
    sys.stdout.write(''.join(out) or '-- No entries --\n')
    return 0


def uptime(now, lines):
    if os.environ.get('KERNEL_LOG_DOUBLE_UPTIME'):
        return float(os.environ['KERNEL_LOG_DOUBLE_UPTIME'])
    try:
        with open('/proc/uptime') as handle:
            return float(handle.read().split()[0])
    except (IOError, OSError, ValueError, IndexError):
        return now - (lines[0]['epoch'] - 1 if lines else now - 1)


def ctime(epoch):
    local = time.localtime(epoch)
    return '%s %2d %s' % (time.strftime('%a %b', local), local.tm_mday, time.strftime('%H:%M:%S %Y', local))


def dmesg(argv, conf, now):
    if 'dmesg' in conf['fail']:
        sys.stderr.write('dmesg: read kernel buffer failed: Operation not permitted\n')
        return 1
    lines = [line for line in read_lines(conf, now) if line['ident'] == 'kernel']
    boot = now - uptime(now, lines)
    wall = bool({'--ctime', '-T'} & set(argv))
    out = []
    for line in lines:
        if line['epoch'] < boot:
            continue
        if wall:
            out.append('[%s] %s\n' % (ctime(line['epoch']), line['message']))
        else:
            since_boot = line['epoch'] - boot
            out.append('[%5d.%06d] %s\n' % (int(since_boot), int((since_boot % 1) * 1e6), line['message']))
    sys.stdout.write(''.join(out))
    return 0


def main(argv, name):
    conf = settings()
    now = time.time()
    if name not in ('journalctl', 'dmesg'):
        name = os.environ.get('KERNEL_LOG_DOUBLE_AS', 'journalctl')
    return journalctl(argv, conf, now) if name == 'journalctl' else dmesg(argv, conf, now)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:], os.path.basename(sys.argv[0])))
