"""Tests of plugins/module_utils/gpu_health.py: the kernel log in each reader's format (lines as the kernel log
double prints them from tests/unit/fixtures/kernel_log), nvidia-smi nvlink -e and its lost-GPU lines, and each
check's verdicts."""
import calendar
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.inferops.gpu_inference.plugins.module_utils import gpu_health as gh
from ansible_collections.inferops.gpu_inference.plugins.module_utils import nvidia_smi as smi
from unit_support import DOUBLES, FIXTURES, double_runner

LOGS = os.path.join(FIXTURES, 'kernel_log')
XID79 = "NVRM: Xid (PCI:0000:3b:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus."
EPOCH = calendar.timegm((2026, 11, 22, 5, 7, 21, 0, 0, 0))


def kernel_log(as_, log, *args, **env):
    """What the kernel log double prints as journalctl or dmesg."""
    proc = subprocess.run([sys.executable, os.path.join(DOUBLES, 'kernel_log_double.py')] + list(args),
                          capture_output=True, text=True, check=False,
                          env=dict(os.environ, KERNEL_LOG_DOUBLE_AS=as_, KERNEL_LOG_DOUBLE_FILE=os.path.join(LOGS, log),
                                   **env))
    return proc.returncode, proc.stdout, proc.stderr


def collect(profile):
    facts = smi.collect(double_runner(profile), lost_ok=True)
    facts['ok'] = True
    return facts


def nvlink(profile):
    rc, out, err = double_runner(profile)(['nvlink', '-e'])
    return {'gpus': gh.parse_nvlink_errors(out), 'error': None if rc == 0 else out + err}


def by_name(checks):
    return dict((c['name'], c) for c in checks)


# --- the kernel log, in each format ---------------------------------------------------------------------------------

@pytest.mark.parametrize('line', [
    '2026-11-22T05:07:21+00:00 gpu-node-1 kernel: ' + XID79,          # journalctl -o short-iso, systemd >= 255
    '2026-11-22T05:07:21+0000 gpu-node-1 kernel: ' + XID79,           # journalctl -o short-iso, older systemd
    '2026-11-22T06:07:21.123456+01:00 gpu-node-1 kernel: ' + XID79,   # short-iso-precise, another zone
    '2026-11-22T05:07:21,123456+00:00 ' + XID79,                      # dmesg --time-format iso
])
def test_an_iso_stamped_xid_line_gives_its_gpu_number_and_time(line):
    [event] = gh.parse_kernel_log(line)['xids']
    assert event['xid'] == 79 and event['pci'] == '0000:3b:00'
    assert event['pid'] == '<unknown>' and event['process'] == '<unknown>'
    assert event['text'] == 'GPU has fallen off the bus.'
    assert int(event['epoch']) == EPOCH


def test_dmesg_ctime_and_syslog_lines_are_local_time():
    local = time.mktime((2026, 11, 2, 5, 7, 21, 0, 0, -1))
    [ctime] = gh.parse_kernel_log('[Mon Nov  2 05:07:21 2026] ' + XID79)['xids']
    assert ctime['epoch'] == local and ctime['time'] == 'Mon Nov  2 05:07:21 2026'
    syslog = gh.parse_kernel_log('Nov  2 05:07:21 gpu-node-1 kernel: [ 5107.644336] ' + XID79,
                                 now=local + 60)['xids'][0]
    assert syslog['epoch'] == local and syslog['xid'] == 79  # kern.log: dmesg's stamp inside the syslog line


def test_plain_dmesg_seconds_since_boot_become_wall_clock_with_the_uptime():
    [event] = gh.parse_kernel_log('[ 5107.644336] ' + XID79, now=EPOCH, uptime=6107.644336)['xids']
    assert event['epoch'] == pytest.approx(EPOCH - 1000) and event['time'] == '[5107.644336]'
    assert gh.parse_kernel_log('[ 5107.644336] ' + XID79)['xids'][0]['epoch'] is None  # no uptime: time unknown


def test_older_drivers_xid_line_without_pci_prefix_or_pid():
    [event] = gh.parse_kernel_log('[ 269.517039] NVRM: Xid (0000:01:00): 3, C 00000005 SC 00000007')['xids']
    assert (event['xid'], event['pci'], event['pid'], event['text']) == (3, '0000:01:00', None, 'C 00000005 SC 00000007')


def test_the_drivers_own_fallen_off_the_bus_lines():
    text = ('2026-11-22T05:07:21+00:00 n kernel: NVRM: GPU 0000:3b:00.0: GPU has fallen off the bus.\n'
            'Jan 18 11:38:05 localhost kernel: [ 269.516977] NVRM: GPU at 0000:01:00.0 has fallen off the bus.\n')
    assert [e['pci'] for e in gh.parse_kernel_log(text, now=EPOCH)['fallen_off_bus']] == ['0000:3b:00.0', '0000:01:00.0']


def test_lines_older_than_the_window_are_left_out():
    text = '\n'.join('%s gpu-node-1 kernel: NVRM: Xid (PCI:0000:00:06): 13, pid=1, name=x, Graphics Exception' % stamp
                     for stamp in ('2026-11-22T03:07:21+00:00', '2026-11-22T05:00:00+00:00'))
    assert [e['time'] for e in gh.parse_kernel_log(text, since=EPOCH - 3600)['xids']] == ['2026-11-22T05:00:00+00:00']


def test_journalctl_double_replays_the_fixture_within_since():
    rc, out, err = kernel_log('journalctl', 'xid_mixed.log', '-k', '-o', 'short-iso', '--since', '-3600s', '--no-pager')
    assert rc == 0 and err == ''
    events = gh.parse_kernel_log(out, since=time.time() - 3600)
    assert [(e['xid'], e['pci']) for e in events['xids']] == [
        (13, '0000:00:06'), (13, '0000:00:06'), (94, '0000:00:06'), (63, '0000:07:00'), (48, '0000:07:00'),
        (95, '0000:07:00')]  # the first Xid 48, 90 minutes older, is outside the hour
    assert all(line.split()[2] == 'kernel:' for line in out.splitlines())  # systemd's own line is not kernel's
    [dbe] = [e for e in events['xids'] if e['xid'] == 48]
    assert dbe['pid'] == '3120' and dbe['process'] == 'python3' and dbe['text'].startswith('An uncorrectable double bit')
    assert time.time() - 120 < dbe['epoch'] < time.time()  # the last lines were logged a minute ago
    [contained] = [e for e in events['xids'] if e['xid'] == 94]
    assert contained['text'] == 'Contained: SM (0x1). RST: No, D-RST: No'


def test_dmesg_double_ctime_and_plain_read_the_same_events():
    now = time.time()
    rc, ctime, _err = kernel_log('dmesg', 'xid79_fallen_off_bus.log', '--ctime')
    assert rc == 0 and ctime.startswith('[')
    with open('/proc/uptime') as handle:
        up = float(handle.read().split()[0])
    rc, plain, _err = kernel_log('dmesg', 'xid79_fallen_off_bus.log')
    assert rc == 0
    from_ctime = gh.parse_kernel_log(ctime, since=now - 3600)
    from_plain = gh.parse_kernel_log(plain, now=now, uptime=up, since=now - 3600)
    for events in (from_ctime, from_plain):
        assert [(e['xid'], e['pci']) for e in events['xids']] == [(79, '0000:07:00')]
        assert [e['pci'] for e in events['fallen_off_bus']] == ['0000:07:00.0']
        assert abs(events['xids'][0]['epoch'] - (now - 60)) < 5


def test_the_doubles_fail_as_the_real_commands_do():
    rc, out, err = kernel_log('journalctl', 'clean.log', '-k', '-o', 'short-iso', KERNEL_LOG_DOUBLE_FAIL='journalctl')
    assert gh.log_unusable(rc, out, err) == 'No journal files were found'
    rc, out, err = kernel_log('dmesg', 'clean.log', '--ctime', KERNEL_LOG_DOUBLE_FAIL='dmesg')
    assert gh.log_unusable(rc, out, err) == 'rc=1: dmesg: read kernel buffer failed: Operation not permitted'
    assert gh.log_unusable(*kernel_log('journalctl', 'clean.log', '-k', '-o', 'short-iso')) is None


# --- nvidia-smi nvlink -e and a GPU that is lost --------------------------------------------------------------------

def test_nvlink_errors_of_an_h100_sxm_eighteen_links_each():
    gpus = nvlink('{"gpus": 2, "nvlink_errors": {"1": {"17": {"CRC Errors": 9}}}}')['gpus']
    assert [(g['index'], len(g['links']), g['note']) for g in gpus] == [(0, 18, None), (1, 18, None)]
    assert gpus[0]['uuid'] == 'GPU-5454c17d-a746-134b-536f-351e5c5ac5d2' and gpus[0]['name'] == 'NVIDIA H100 80GB HBM3'
    assert gpus[1]['links'][17] == {'Replay Errors': 0, 'Recovery Errors': 0, 'CRC Errors': 9}


def test_nvlink_errors_of_gpus_without_nvlink_and_other_counter_names():
    [gpu] = nvlink('{"nvlink_links": 0}')['gpus']
    assert gpu['links'] == {} and gpu['note'] == 'NVML: Unable to retrieve Nvlink information as all links are inActive'
    older = gh.parse_nvlink_errors('GPU 0: NVIDIA GeForce RTX 3090 (UUID: GPU-a)\n'
                                   '         Link 0: Replay Errors: 0\n         Link 0: CRC Flit Errors: 5\n'
                                   '         Link 0: CRC Data Errors: 0\n         Link 0: Effective BER: 15e-255\n')
    assert older[0]['links'][0] == {'Replay Errors': 0, 'CRC Flit Errors': 5, 'CRC Data Errors': 0,
                                    'Effective BER': '15e-255'}


@pytest.mark.parametrize('line, index, pci, lost', [
    ('Unable to determine the device handle for GPU1: 0000:07:00.0: GPU is lost. Reboot the system to recover this GPU',
     1, '00000000:07:00.0', True),
    ('Unable to determine the device handle for GPU 0000:05:00.0: GPU is lost.  Reboot the system to recover this GPU',
     None, '00000000:05:00.0', True),
    ('Unable to determine the device handle for GPU0000:CB:00.0: Unknown Error', None, '00000000:CB:00.0', False),
])
def test_lost_gpu_lines_of_several_drivers(line, index, pci, lost):
    [gpu] = smi.parse_lost_gpus('0, NVIDIA H100 80GB HBM3\n' + line + '\n')
    assert (gpu['index'], gpu['pci_bus_id'], gpu['lost']) == (index, pci, lost)


def test_collect_keeps_the_gpus_that_answer_when_one_is_lost():
    facts = collect('{"gpus": 3, "lost_gpus": [1]}')
    assert [g['index'] for g in facts['gpus']] == [0, 2]
    assert facts['lost_gpus'] == [{'index': 1, 'pci_bus_id': '00000000:07:00.0', 'lost': True,
                                   'reason': 'GPU is lost. Reboot the system to recover this GPU'}]
    with pytest.raises(smi.NvidiaSmiError) as caught:  # without lost_ok, as before: the driver does not answer
        smi.collect(double_runner('{"gpus": 3, "lost_gpus": [1]}'))
    assert caught.value.reason == 'driver'


def test_the_health_fields_are_typed():
    gpu = collect('{"set_gpu": {"0": {"clocks_event_reasons.sw_thermal_slowdown": "Active"}}}')['gpus'][0]
    assert gpu['ecc_errors_uncorrected_aggregate_total'] == 0
    assert gpu['clocks_event_reasons_sw_thermal_slowdown'] is True
    assert gpu['clocks_event_reasons_hw_thermal_slowdown'] is False


def test_the_doubles_health_field_values_are_those_of_the_xml_capture():
    import nvidia_smi_double
    from unit_support import H100
    with open(os.path.join(H100, 'smi_q.xml')) as handle:
        xml = handle.read()
    for tag in ('hw_thermal_slowdown', 'sw_thermal_slowdown', 'hw_power_brake_slowdown'):
        assert '<clocks_event_reason_%s>Not Active<' % tag in xml
        assert nvidia_smi_double.EXTRA_FIELDS['clocks_event_reasons.' + tag] == 'Not Active'
    aggregate = xml.split('<aggregate>')[1].split('</aggregate>')[0]
    assert '<sram_uncorrectable_secded>0<' in aggregate and '<dram_uncorrectable>0<' in aggregate
    assert nvidia_smi_double.EXTRA_FIELDS['ecc.errors.uncorrected.aggregate.total'] == '0'


# --- the checks -----------------------------------------------------------------------------------------------------

def kernel(log=None, **extra):
    if log is None:
        events = {'xids': [], 'fallen_off_bus': []}
    else:
        _rc, out, _err = kernel_log('journalctl', log, '-k', '-o', 'short-iso', '--since', '-3600s')
        events = gh.parse_kernel_log(out, since=time.time() - 3600)
    return dict(events, source='journalctl -k -o short-iso --since -3600s --no-pager', error=None, **extra)


def test_a_healthy_h100_node_is_ok_everywhere():
    checks = gh.judge(collect('{"gpus": 8}'), kernel('clean.log'), nvlink('{"gpus": 8}'), window=3600)
    assert [(c['name'], c['status']) for c in checks] == [
        ('gpu_lost', 'ok'), ('xid', 'ok'), ('ecc_uncorrected', 'ok'), ('row_remapping', 'ok'),
        ('nvlink_errors', 'ok'), ('throttle', 'ok')]
    assert all(c['check'] == c['name'] and set(c) == {'check', 'name', 'status', 'message', 'found', 'expected'}
               for c in checks)
    named = by_name(checks)
    assert named['nvlink_errors']['message'] == 'no replay, recovery or CRC errors on 144 NVLink link(s) of 8 GPU(s)'
    assert named['xid']['message'] == 'no Xid in the last 3600 s (journalctl -k -o short-iso --since -3600s --no-pager)'
    assert gh.healthy(checks) and gh.faults(checks) == []


def test_xid_79_and_the_lost_gpu_fail_naming_gpu_and_bus():
    nvidia = collect('{"gpus": 2, "lost_gpus": [1]}')
    checks = by_name(gh.judge(nvidia, kernel('xid79_fallen_off_bus.log'), None, window=3600))
    xid = checks['xid']
    assert xid['status'] == 'fail'
    assert xid['message'].startswith('GPU 1 (00000000:07:00.0): Xid 79 (GPU has fallen off the bus) at 20')
    assert xid['found'][0]['gpu'] is None and xid['found'][0]['pci'] == '0000:07:00'  # nvidia-smi no longer lists it
    lost = checks['gpu_lost']
    assert lost['status'] == 'fail'
    assert lost['message'].startswith('GPU 1 (00000000:07:00.0): nvidia-smi cannot reach it: GPU is lost. Reboot')
    assert 'the kernel log says it fell off the bus at' in lost['message']
    assert checks['ecc_uncorrected']['status'] == 'ok'  # GPU 0 still answers and is fine


def test_the_xid_check_warns_on_an_application_xid_and_its_fail_list_is_an_option():
    text = '2026-11-22T05:00:00+00:00 n kernel: NVRM: Xid (PCI:0000:00:06): 13, pid=2290, name=python3, ' \
           'Graphics SM Warp Exception on (GPC 1, TPC 0, SM 0): Out Of Range Address'
    events = dict(gh.parse_kernel_log(text), source='journalctl', error=None)
    gpus = collect(None)['gpus']
    warned = gh.check_xid(events, gpus, window=3600)
    assert warned['status'] == 'warn'
    assert warned['message'] == ('GPU 0 (00000000:00:06.0): Xid 13 (Graphics Engine Exception) at 2026-11-22T05:00:00Z: '
                                 'Graphics SM Warp Exception on (GPC 1, TPC 0, SM 0): Out Of Range Address')
    assert gh.check_xid(events, gpus, fail_xids=[13], window=3600)['status'] == 'fail'


def test_the_mixed_log_fails_with_the_hardware_xids_first():
    xid = gh.check_xid(kernel('xid_mixed.log'), collect('{"gpus": 2}')['gpus'], window=3600)
    assert xid['status'] == 'fail'
    assert [(f['xid'], f['gpu'], f['count'], f['severity']) for f in xid['found']] == [
        (94, 0, 1, 'fail'), (63, 1, 1, 'fail'), (48, 1, 1, 'fail'), (95, 1, 1, 'fail'), (13, 0, 2, 'warn')]
    assert 'GPU 1 (00000000:07:00.0): Xid 48 (Double Bit ECC Error) at ' in xid['message']


def test_an_unreadable_kernel_log_skips_the_xid_check_and_says_why():
    unread = {'source': None, 'error': 'dmesg --ctime: rc=1: Operation not permitted', 'xids': [], 'fallen_off_bus': []}
    xid = gh.check_xid(unread, [], window=3600)
    assert xid['status'] == 'skip' and 'Operation not permitted' in xid['message'] and 'become' in xid['message']


def test_nvidia_smi_missing_or_driver_down_fails_gpu_lost_and_skips_the_gpu_checks():
    down = {'ok': False, 'reason': 'nvidia_smi_driver', 'msg': "nvidia-smi cannot talk to the NVIDIA driver: ..."}
    checks = gh.judge(down, kernel(), nvlink=None, window=3600)
    assert [(c['name'], c['status']) for c in checks] == [
        ('gpu_lost', 'fail'), ('xid', 'ok'), ('ecc_uncorrected', 'skip'), ('row_remapping', 'skip'),
        ('nvlink_errors', 'skip'), ('throttle', 'skip')]
    assert checks[0]['message'].startswith('nvidia-smi cannot talk to the NVIDIA driver')
    assert not gh.healthy(checks)


def test_volatile_ecc_fails_aggregate_alone_warns():
    failed = gh.check_ecc(collect('{"gpus": 2, "set_gpu": {"1": {"ecc.errors.uncorrected.volatile.total": 3, '
                                  '"ecc.errors.uncorrected.aggregate.total": 5}}}'))
    assert failed['status'] == 'fail'
    assert failed['message'].startswith('GPU 1 (00000000:07:00.0): 3 uncorrectable ECC error(s) since the driver loaded')
    warned = gh.check_ecc(collect('{"set": {"ecc.errors.uncorrected.aggregate.total": 2}}'))
    assert warned['status'] == 'warn' and 'GPU 0 (00000000:00:06.0): 2 uncorrectable ECC error(s) in its lifetime' \
        in warned['message']
    skipped = gh.check_ecc(collect('{"set": {"ecc.errors.uncorrected.aggregate.total": "[N/A]", '
                                   '"ecc.errors.uncorrected.volatile.total": "[N/A]"}}'))
    assert skipped['status'] == 'skip'


@pytest.mark.parametrize('field, words', [
    ('remapped_rows.failure', 'row remapping failed'),
    ('remapped_rows.pending', 'a row remapping is pending'),
    ('retired_pages.pending', 'a page retirement is pending'),
])
def test_row_remapping_fails_on_failure_or_pending(field, words):
    got = gh.check_row_remapping(collect('{"gpus": 2, "set_gpu": {"0": {"%s": "Yes"}}}' % field))
    assert got['status'] == 'fail' and got['message'].startswith('GPU 0 (00000000:00:06.0): ' + words)
    assert gh.check_row_remapping(collect('{"gpus": 2}'))['status'] == 'ok'


def test_nvlink_warns_on_crc_replay_or_recovery_errors_and_skips_without_nvlink():
    profile = '{"gpus": 2, "nvlink_errors": {"1": {"4": {"CRC Errors": 37, "Replay Errors": 3}}}}'
    got = gh.check_nvlink(nvlink(profile), collect(profile))
    assert got['status'] == 'warn'
    assert got['message'].startswith('GPU 1 (00000000:07:00.0) link 4: CRC Errors 37, Replay Errors 3')
    assert got['found'] == [{'gpu': 1, 'link': 4, 'counters': {'CRC Errors': 37, 'Replay Errors': 3}}]
    none = gh.check_nvlink(nvlink('{"nvlink_links": 0}'), collect(None))
    assert none['status'] == 'skip' and none['message'] == (
        'no GPU has NVLink (nvidia-smi: NVML: Unable to retrieve Nvlink information as all links are inActive)')
    assert gh.check_nvlink(None, collect(None))['status'] == 'skip'


@pytest.mark.parametrize('field, words', [
    ('clocks_event_reasons.hw_thermal_slowdown', 'HW thermal slowdown'),
    ('clocks_event_reasons.sw_thermal_slowdown', 'SW thermal slowdown'),
    ('clocks_event_reasons.hw_power_brake_slowdown', 'HW power brake slowdown'),
])
def test_throttle_warns_naming_the_gpu_and_the_reason(field, words):
    got = gh.check_throttle(collect('{"gpus": 2, "set_gpu": {"1": {"%s": "Active", "temperature.gpu": "91"}}}' % field))
    assert got['status'] == 'warn'
    assert got['message'].startswith('GPU 1 (00000000:07:00.0): clocks slowed by ' + words)
    assert ' at 91 C, ' in got['message']


def test_throttle_reads_the_reason_mask_where_the_single_fields_are_missing():
    facts = collect('{"unknown_fields": ["clocks_event_reasons.hw_thermal_slowdown", '
                    '"clocks_event_reasons.sw_thermal_slowdown", "clocks_event_reasons.hw_power_brake_slowdown"], '
                    '"set": {"clocks_event_reasons.active": "0x0000000000000040"}}')
    assert len(facts['dropped_fields']) == 3
    got = gh.check_throttle(facts)
    assert got['status'] == 'warn' and 'HW thermal slowdown' in got['message']


def test_faults_lists_failures_then_warnings():
    checks = [gh.check('throttle', 'warn', 'hot'), gh.check('xid', 'fail', 'Xid 79'), gh.check('nvlink_errors', 'ok', 'x')]
    assert gh.faults(checks) == ['xid (fail): Xid 79', 'throttle (warn): hot']
    assert not gh.healthy(checks) and gh.healthy(checks[:1])
