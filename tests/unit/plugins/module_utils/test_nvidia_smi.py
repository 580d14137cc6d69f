"""Tests of plugins/module_utils/nvidia_smi.py on real H100 captures (tests/unit/fixtures/gpu)."""
import os

import pytest

from ansible_collections.inferops.gpu_inference.plugins.module_utils import nvidia_smi as smi
from unit_support import H100, double_runner

CAPTURED = smi.CORE_FIELDS + tuple(f for f in smi.OPTIONAL_FIELDS)


def read(name):
    with open(os.path.join(H100, name)) as handle:
        return handle.read()


def captured_field_order():
    import nvidia_smi_double
    return nvidia_smi_double.CAPTURED_FIELDS


def test_parse_query_nounits_types_every_value():
    fields = captured_field_order()
    gpus = smi.parse_query_gpu(read('smi_query_nounits.csv'), fields)
    assert len(gpus) == 1
    gpu = gpus[0]
    assert gpu['index'] == 0
    assert gpu['name'] == 'NVIDIA H100 80GB HBM3'
    assert gpu['memory_total_mib'] == 81559
    assert gpu['memory_reserved_mib'] == 480
    assert gpu['power_draw_w'] == pytest.approx(83.51)
    assert gpu['persistence_mode'] is True
    assert gpu['mig_mode_current'] is False
    assert gpu['ecc_mode_current'] is True
    assert gpu['ecc_errors_uncorrected_volatile_total'] == 0
    assert gpu['retired_pages_pending'] is None  # [N/A] on H100 (it remaps rows instead)
    assert gpu['remapped_rows_pending'] is False
    assert gpu['fan_speed_pct'] is None  # [N/A]
    assert gpu['compute_cap'] == '9.0'
    assert gpu['clocks_event_reasons_active'] == '0x0000000000000001'
    assert gpu['pcie_link_width_current'] == 16


def test_column_count_mismatch_is_an_error():
    with pytest.raises(smi.NvidiaSmiError, match='columns'):
        smi.parse_query_gpu(read('smi_query_nounits.csv'), ['index', 'name'])


@pytest.mark.parametrize('cell,kind,expected', [
    ('[N/A]', 'int', None), ('[Not Supported]', 'float', None), (' 12 ', 'int', 12),
    ('1.5', 'float', 1.5), ('Enabled', 'bool', True), ('No', 'bool', False),
    ('garbage', 'int', 'garbage'), ('Default', 'str', 'Default'),
])
def test_convert(cell, kind, expected):
    assert smi.convert(cell, kind) == expected


def test_parse_version():
    assert smi.parse_version(read('smi_version.txt')) == {
        'driver_version': '580.159.04', 'cuda_version': '13.0', 'nvml_version': '580.159'}


def test_parse_version_from_plain_header():
    got = smi.parse_version(read('smi_plain.txt'))
    assert got['driver_version'] == '580.159.04'
    assert got['cuda_version'] == '13.0'


def test_parse_topology_strips_ansi():
    topo = smi.parse_topology(read('smi_topo.txt'))
    assert topo['devices'] == ['GPU0']
    assert topo['matrix'] == {'GPU0': {'GPU0': 'X'}}
    assert topo['affinity']['GPU0'] == {'cpu_affinity': '0-15', 'numa_affinity': '0', 'gpu_numa_id': None}
    assert topo['legend']['NV#'].startswith('Connection traversing a bonded set')


def test_parse_compute_apps_with_units_and_header():
    apps = smi.parse_compute_apps(read('smi_apps.csv'))
    assert apps == [{'pid': 416, 'process_name': 'python3', 'used_memory_mib': 874,
                     'gpu_uuid': 'GPU-5454c17d-a746-134b-536f-351e5c5ac5d2'}]


def test_classify_bad_field_capture():
    text = read('smi_bad_field.txt')
    assert smi.classify_error(2, text.split('rc=')[0], '') == ('bad_field', 'bogus.field')


def test_classify_driver_down():
    kind, detail = smi.classify_error(9, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", '')
    assert kind == 'driver' and 'NVIDIA driver' in detail


def test_collect_one_query_for_all_fields():
    calls = []
    got = smi.collect(double_runner(calls=calls), topology=True, processes=True)
    query_calls = [c for c in calls if c[0].startswith('--query-gpu=')]
    assert len(query_calls) == 1
    assert got['gpu_count'] == 1
    assert got['driver_version'] == '580.159.04' and got['cuda_version'] == '13.0'
    assert got['dropped_fields'] == []
    assert got['gpus'][0]['processes'][0]['pid'] == 416
    assert got['topology']['devices'] == ['GPU0']


def test_collect_drops_unknown_optional_fields_and_reports_them():
    got = smi.collect(double_runner('{"unknown_fields": ["memory.reserved", "clocks_event_reasons.active"]}'))
    assert got['dropped_fields'] == ['memory.reserved', 'clocks_event_reasons.active']
    assert 'memory_reserved_mib' not in got['gpus'][0]
    assert got['gpus'][0]['memory_total_mib'] == 81559


def test_collect_fails_on_unknown_asked_field():
    with pytest.raises(smi.NvidiaSmiError, match='"bogus.field"') as err:
        smi.collect(double_runner(), extra_fields=['bogus.field'])
    assert err.value.reason == 'bad_field'


def test_collect_fails_on_unknown_core_field():
    with pytest.raises(smi.NvidiaSmiError, match='core field'):
        smi.collect(double_runner('{"unknown_fields": ["memory.total"]}'))


def test_collect_driver_down():
    with pytest.raises(smi.NvidiaSmiError, match='cannot talk to the NVIDIA driver') as err:
        smi.collect(double_runner('{"driver_down": true}'))
    assert err.value.reason == 'driver'


def test_collect_many_gpus_and_overrides():
    got = smi.collect(double_runner('{"gpus": 4, "driver_version": "470.57.02", "cuda_version": "11.4",'
                                    ' "set_gpu": {"2": {"ecc.errors.uncorrected.volatile.total": 3}}}'))
    assert got['gpu_count'] == 4
    assert [g['index'] for g in got['gpus']] == [0, 1, 2, 3]
    assert len({g['uuid'] for g in got['gpus']}) == 4
    assert got['driver_version'] == '470.57.02' and got['cuda_version'] == '11.4'
    assert [g['ecc_errors_uncorrected_volatile_total'] for g in got['gpus']] == [0, 0, 3, 0]


def test_resolve_executable(tmp_path):
    exe = tmp_path / 'nvidia-smi'
    exe.write_text('#!/bin/sh\n')
    asked = []

    def get_bin_path(name, opt_dirs=None):
        asked.append((name, opt_dirs))
        return str(exe)
    assert smi.resolve_executable(get_bin_path, 'nvidia-smi') is None  # not executable yet
    exe.chmod(0o755)
    assert smi.resolve_executable(get_bin_path, 'nvidia-smi') == str(exe)
    assert asked[0] == ('nvidia-smi', smi.NVIDIA_SMI_DIRS)
    assert smi.resolve_executable(get_bin_path, str(tmp_path / 'absent')) is None


@pytest.mark.parametrize('profile, count', [(None, 1), ('{"gpus": 2}', 2), ('{"gpus": 8}', 8)])
def test_gpu_count_is_one_query(profile, count):
    calls = []
    assert smi.gpu_count(double_runner(profile, calls=calls)) == count
    assert calls == [['--query-gpu=index', '--format=csv,noheader,nounits']]


def test_gpu_count_names_a_driver_that_does_not_answer():
    with pytest.raises(smi.NvidiaSmiError, match='cannot talk to the NVIDIA driver') as caught:
        smi.gpu_count(double_runner('{"driver_down": true}'))
    assert caught.value.reason == 'driver'


def test_collect_the_plain_table_as_nvidia_smi_prints_it():
    calls = []
    got = smi.collect(double_runner(calls=calls), table=True)
    assert got['table'] == read('smi_plain.txt')  # the real capture, as it was printed
    assert calls.count([]) == 1
    assert 'table' not in smi.collect(double_runner())


def test_the_plain_table_lists_every_gpu_of_the_host():
    table = smi.collect(double_runner('{"gpus": 2}'), table=True)['table']
    rows = [line for line in table.splitlines() if line.startswith('|   ') and 'NVIDIA H100' in line]
    assert [row.split()[1] for row in rows] == ['0', '1'] and '00000000:07:00.0' in rows[1]
    assert smi.parse_version(table)['driver_version'] == '580.159.04'


def test_the_plain_table_serves_for_the_versions_of_a_driver_without_version():
    calls = []
    inner = double_runner(calls=calls)

    def old_driver(args):
        return (6, '', 'Unknown option --version') if args == ['--version'] else inner(args)
    got = smi.collect(old_driver, table=True)
    assert got['driver_version'] == '580.159.04' and got['cuda_version'] == '13.0' and calls.count([]) == 1
