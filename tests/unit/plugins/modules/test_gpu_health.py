"""gpu_health run as a module, as on a node: nvidia-smi is the test double replaying the real H100 captures, and
journalctl and dmesg are the kernel log double replaying tests/unit/fixtures/kernel_log (both found on PATH, as
the module finds the real ones), so the default reading order and its fallback run for real."""
import json
import os
import sys

import pytest

from unit_support import DOUBLES, FIXTURES, H100, fake_executable, run_module

LOGS = os.path.join(FIXTURES, 'kernel_log')


@pytest.fixture
def node(tmp_path):
    """A bin folder with nvidia-smi, journalctl and dmesg doubles; returns run(profile, log, args, **env)."""
    folder = str(tmp_path / 'bin')
    os.mkdir(folder)
    fake_executable(folder, 'nvidia-smi', 'exec %s %s "$@"\n' % (sys.executable, os.path.join(DOUBLES, 'nvidia_smi_double.py')))
    for name in ('journalctl', 'dmesg'):
        fake_executable(folder, name, 'KERNEL_LOG_DOUBLE_AS=%s exec %s %s "$@"\n' % (
            name, sys.executable, os.path.join(DOUBLES, 'kernel_log_double.py')))

    def run(profile, log='clean.log', args=None, check_mode=False, **env):
        env = dict({'PATH': folder + os.pathsep + os.environ['PATH'], 'NVIDIA_SMI_DOUBLE_FIXTURES': H100,
                    'NVIDIA_SMI_DOUBLE_PROFILE': json.dumps(profile), 'KERNEL_LOG_DOUBLE_FILE': os.path.join(LOGS, log),
                    # A node up for a day, whatever this machine's uptime: dmesg holds no line from before the boot.
                    'KERNEL_LOG_DOUBLE_UPTIME': '86400'},
                   **env)
        result = run_module('gpu_health', args or {}, env, check_mode=check_mode)
        assert result['_rc'] == 0 and result['changed'] is False, result
        result['by_name'] = dict((c['name'], c) for c in result['checks'])
        return result
    return run


def statuses(result):
    return [(c['name'], c['status']) for c in result['checks']]


def test_a_healthy_h100_node(node):
    result = node({'gpus': 8}, check_mode=True)
    assert statuses(result) == [('gpu_lost', 'ok'), ('xid', 'ok'), ('ecc_uncorrected', 'ok'), ('row_remapping', 'ok'),
                                ('nvlink_errors', 'ok'), ('throttle', 'ok')]
    assert result['healthy'] is True and result['faults'] == []
    assert result['kernel_log_source'] == 'journalctl -k -o short-iso --since -3600s --no-pager'
    assert len(result['gpus']) == 8 and result['gpus'][0] == {
        'index': 0, 'name': 'NVIDIA H100 80GB HBM3', 'uuid': 'GPU-5454c17d-a746-134b-536f-351e5c5ac5d2',
        'pci_bus_id': '00000000:00:06.0'}
    assert '144 NVLink link(s) of 8 GPU(s)' in result['by_name']['nvlink_errors']['message']


def test_xid_79_and_a_lost_gpu(node):
    result = node({'gpus': 2, 'lost_gpus': [1]}, 'xid79_fallen_off_bus.log')
    assert result['healthy'] is False
    assert result['by_name']['gpu_lost']['status'] == 'fail' and result['by_name']['xid']['status'] == 'fail'
    assert result['faults'][0].startswith(
        'gpu_lost (fail): GPU 1 (00000000:07:00.0): nvidia-smi cannot reach it: GPU is lost. Reboot the system')
    assert result['faults'][1].startswith('xid (fail): GPU 1 (00000000:07:00.0): Xid 79 (GPU has fallen off the bus) at ')
    assert result['gpus'][1] == {'index': 1, 'name': None, 'uuid': None, 'pci_bus_id': '00000000:07:00.0', 'lost': True,
                                 'reason': 'GPU is lost. Reboot the system to recover this GPU'}
    assert result['by_name']['nvlink_errors']['status'] == 'ok'  # GPU 0 still answers, its 18 links clean


def test_uncorrectable_ecc_since_the_driver_loaded(node):
    result = node({'gpus': 2, 'set_gpu': {'1': {'ecc.errors.uncorrected.volatile.total': 2,
                                                'ecc.errors.uncorrected.aggregate.total': 2}}})
    ecc = result['by_name']['ecc_uncorrected']
    assert ecc['status'] == 'fail' and result['healthy'] is False
    assert ecc['message'].startswith('GPU 1 (00000000:07:00.0): 2 uncorrectable ECC error(s) since the driver loaded')
    assert ecc['found'][1] == {'gpu': 1, 'pci_bus_id': '00000000:07:00.0', 'volatile': 2, 'aggregate': 2}
    assert result['faults'] == ['ecc_uncorrected (fail): ' + ecc['message']]


def test_thermal_throttle_warns_and_stays_healthy(node):
    result = node({'gpus': 2, 'set_gpu': {'0': {'clocks_event_reasons.hw_thermal_slowdown': 'Active',
                                                'temperature.gpu': '92'}}})
    throttle = result['by_name']['throttle']
    assert throttle['status'] == 'warn' and result['healthy'] is True
    assert throttle['message'].startswith('GPU 0 (00000000:00:06.0): clocks slowed by HW thermal slowdown')
    assert 'at 92 C' in throttle['message']
    assert throttle['found'][0]['hw_thermal_slowdown'] is True and throttle['found'][1]['hw_thermal_slowdown'] is False


def test_nvlink_crc_errors_warn(node):
    result = node({'gpus': 8, 'nvlink_errors': {'3': {'11': {'CRC Errors': 120, 'Recovery Errors': 1}}}})
    nvlink = result['by_name']['nvlink_errors']
    assert nvlink['status'] == 'warn' and result['healthy'] is True
    assert nvlink['message'].startswith('GPU 3 (00000000:09:00.0) link 11: CRC Errors 120, Recovery Errors 1')
    skipped = node({'gpus': 1, 'nvlink_links': 0})['by_name']['nvlink_errors']
    assert skipped['status'] == 'skip' and skipped['message'].startswith('no GPU has NVLink')
    assert node({'gpus': 1}, args={'nvlink': False})['by_name']['nvlink_errors']['message'] == 'not checked (nvlink: false)'


def test_without_a_journal_dmesg_is_read_and_the_window_holds(node):
    result = node({'gpus': 2}, 'xid_mixed.log', KERNEL_LOG_DOUBLE_FAIL='journalctl')
    assert result['kernel_log_source'] == 'dmesg --ctime'
    xid = result['by_name']['xid']
    assert xid['status'] == 'fail'
    assert [(f['xid'], f['count']) for f in xid['found']] == [(94, 1), (63, 1), (48, 1), (95, 1), (13, 2)]  # one 48 is older
    narrow = node({'gpus': 2}, 'xid_mixed.log', args={'xid_window': 600, 'fail_xids': [48]})
    assert [(f['xid'], f['severity']) for f in narrow['by_name']['xid']['found']] == [(48, 'fail'), (95, 'warn')]
    assert narrow['kernel_log_source'] == 'journalctl -k -o short-iso --since -600s --no-pager'


def test_an_unreadable_kernel_log_is_said_and_a_given_command_is_read(node):
    result = node({'gpus': 1}, KERNEL_LOG_DOUBLE_FAIL='journalctl,dmesg')
    assert result['kernel_log_source'] is None
    xid = result['by_name']['xid']
    assert xid['status'] == 'skip' and 'dmesg --ctime: rc=1: dmesg: read kernel buffer failed' in xid['message']
    given = node({'gpus': 2}, args={'kernel_log_command': ['cat', os.path.join(LOGS, 'xid79_fallen_off_bus.log')],
                                    'xid_window': 10 ** 9})
    assert given['kernel_log_source'].startswith('cat ') and given['by_name']['xid']['found'][0]['xid'] == 79


def test_no_nvidia_smi_fails_gpu_lost_and_a_bad_window_fails_the_task(node, tmp_path):
    result = node({}, args={'nvidia_smi': str(tmp_path / 'absent')})
    assert statuses(result)[0] == ('gpu_lost', 'fail') and result['gpus'] == []
    assert result['by_name']['gpu_lost']['message'].startswith('nvidia-smi not found')
    bad = run_module('gpu_health', {'xid_window': 0})
    assert bad['_rc'] == 1 and 'xid_window' in bad['msg']
