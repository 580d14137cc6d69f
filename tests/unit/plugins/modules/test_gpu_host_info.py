"""gpu_host_info run as a module: nvidia-smi is the test double replaying the real H100 captures (the one binary
this machine lacks), dcgm-exporter's metrics come from a real HTTP server on loopback serving the double's text."""
import os
import sys
import threading
from http import server as http_server

import pytest

import dcgm_exporter_double
from unit_support import DOUBLES, H100, fake_executable, run_module


class Exporter(http_server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        body = dcgm_exporter_double.render(2, set()).encode() if self.path == '/metrics' else b'not here'
        self.send_response(200 if self.path == '/metrics' else 404)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope='module')
def exporter():
    httpd = http_server.HTTPServer(('127.0.0.1', 0), Exporter)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    httpd.shutdown()


@pytest.fixture
def nvidia_smi(tmp_path):
    return fake_executable(str(tmp_path), 'nvidia-smi', 'exec %s %s "$@"\n' % (sys.executable, os.path.join(DOUBLES, 'nvidia_smi_double.py')))


def test_one_run_reads_gpus_dcgm_storage_and_the_os(exporter, nvidia_smi, tmp_path):
    env = {'NVIDIA_SMI_DOUBLE_FIXTURES': H100, 'NVIDIA_SMI_DOUBLE_PROFILE': '{"gpus": 2}'}
    result = run_module('gpu_host_info', {'nvidia_smi': nvidia_smi, 'dcgm_exporter_url': exporter + '/metrics',
                                          'model_cache_path': str(tmp_path / 'not-yet'), 'container_engines': ['podman']}, env)
    assert result['_rc'] == 0 and not result['changed']
    nvidia = result['nvidia']
    assert nvidia['ok'] and nvidia['gpu_count'] == 2 and nvidia['gpus'][0]['name'] == 'NVIDIA H100 80GB HBM3'
    assert nvidia['driver_version'] and nvidia['cuda_version']
    dcgm = result['dcgm_exporter']
    assert dcgm['status'] == 200 and 'DCGM_FI_DEV_GPU_UTIL' in dcgm['metrics_text'] and dcgm['error'] is None
    assert len(dcgm['metrics_text']) == dcgm['metrics_bytes']  # no families named: the whole scrape
    cache = result['storage']['model_cache']
    assert cache['path'] == str(tmp_path / 'not-yet') and cache['measured_path'] == str(tmp_path) and cache['free_bytes'] > 0
    assert result['os']['kernel'] and 'podman' in result['container']


def test_what_does_not_answer_is_said_not_failed(exporter, tmp_path):
    result = run_module('gpu_host_info', {'nvidia_smi': str(tmp_path / 'no-nvidia-smi'), 'dcgm_exporter_url': exporter + '/nothing',
                                          'container_engines': ['podman']})
    assert result['_rc'] == 0
    assert not result['nvidia']['ok'] and result['nvidia']['reason'] == 'nvidia_smi_missing'
    assert result['dcgm_exporter']['metrics_text'] is None and result['dcgm_exporter']['error'].startswith('HTTP 404')
    no_dcgm = run_module('gpu_host_info', {'nvidia_smi': str(tmp_path / 'x'), 'dcgm_exporter_url': '', 'container_engines': ['podman']})
    assert no_dcgm['dcgm_exporter']['status'] is None and no_dcgm['dcgm_exporter']['error'] is None


def test_only_the_asked_for_dcgm_families_come_back(exporter, tmp_path):
    whole = dcgm_exporter_double.render(2, set())
    result = run_module('gpu_host_info', {'nvidia_smi': str(tmp_path / 'x'), 'dcgm_exporter_url': exporter + '/metrics',
                                          'dcgm_exporter_metrics': ['DCGM_FI_DEV_FB_USED'], 'container_engines': ['podman']})
    dcgm = result['dcgm_exporter']
    assert dcgm['metrics_bytes'] == len(whole) > 2 * len(dcgm['metrics_text'])
    kept = dcgm['metrics_text'].splitlines()
    assert kept == [line for line in whole.splitlines()
                    if line.startswith(('DCGM_FI_DEV_FB_USED{', '# HELP DCGM_FI_DEV_FB_USED ', '# TYPE DCGM_FI_DEV_FB_USED '))]
    assert len([line for line in kept if not line.startswith('#')]) == 2  # one sample per GPU
