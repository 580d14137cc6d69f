"""module_utils/serving_check.py: is a vLLM server serving (forward progress), as the module and the gateway ask.

The metrics text is a capture of the real vLLM 0.32 CPU build (tests/bed's image); the server the checks talk to is a
stand-in made here (FakeVllm: /metrics and /v1/completions, which can be made to hang as a stopped engine does).
"""
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.inferops.gpu_inference.plugins.module_utils import gpu_health
from ansible_collections.inferops.gpu_inference.plugins.module_utils import serving_check as sc

FIXTURE = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'vllm', 'metrics_cpu_0.32_idle.txt')


class FakeVllm(object):
    """A stand-in for vLLM's API server: gauges and counters set by the test; completions answer or hang."""

    def __init__(self):
        self.running, self.waiting, self.tokens, self.hang, self.completions = 0, 0, 0, threading.Event(), 0
        self.slow, self.key = 0, None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, body, ctype='application/json'):
                data = body.encode()
                self.send_response(200)
                self.send_header('Content-Type', ctype)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == '/metrics':
                    self.reply('vllm:num_requests_running{engine="0",model_name="m"} %s\n'
                               'vllm:num_requests_waiting{engine="0",model_name="m"} %s\n'
                               'vllm:prompt_tokens_total{engine="0",model_name="m"} %s\n'
                               'vllm:generation_tokens_total{engine="0",model_name="m"} 0.0\n' % (
                                   float(fake.running), float(fake.waiting), float(fake.tokens)), 'text/plain')
                else:
                    self.reply(json.dumps({'data': [{'id': 'm'}]}))

            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length') or 0))
                if fake.key and self.headers.get('Authorization') != 'Bearer ' + fake.key:
                    self.send_response(401)
                    self.send_header('Content-Length', '25')
                    self.end_headers()
                    self.wfile.write(b'{"error": "Unauthorized"}')
                    return
                fake.completions += 1
                if fake.hang.is_set():
                    threading.Event().wait(5)  # a stopped engine: no answer until the client gives up
                    return
                if fake.slow:
                    fake.tokens += fake.slow  # a slow engine: other requests' tokens come out while this one waits
                    threading.Event().wait(5)
                    return
                self.reply(json.dumps({'choices': [{'text': ' x'}]}))

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def vllm():
    fake = FakeVllm()
    yield fake
    fake.close()


def test_parse_metrics_of_the_real_server():
    with open(FIXTURE) as handle:
        assert sc.parse_metrics(handle.read()) == {'running': 0.0, 'waiting': 0.0, 'tokens': 0.0}


def test_parse_metrics_sums_engines_and_names_what_is_missing():
    text = ('vllm:num_requests_running{engine="0"} 1\nvllm:num_requests_running{engine="1"} 2\n'
            'vllm:num_requests_waiting{engine="0"} 0\nvllm:prompt_tokens_total{engine="0"} 10\n'
            'vllm:generation_tokens_total{engine="0"} 5\nvllm:generation_tokens_total{engine="1"} 7\n')
    assert sc.parse_metrics(text) == {'running': 3.0, 'waiting': 0.0, 'tokens': 22.0}
    with pytest.raises(ValueError, match='vllm:num_requests_waiting'):
        sc.parse_metrics('vllm:num_requests_running 0\n')


def test_judge_stalls_only_after_the_bound():
    kept, stalled = sc.judge(None, {'tokens': 5}, 100.0, 10)
    assert kept == {'tokens': 5, 'since': 100.0} and not stalled
    assert sc.judge(kept, {'tokens': 5}, 110.0, 10) == (kept, False)
    assert sc.judge(kept, {'tokens': 5}, 110.5, 10) == (kept, True)
    assert sc.judge(kept, {'tokens': 6}, 200.0, 10) == ({'tokens': 6, 'since': 200.0}, False)


def test_idle_server_answers_the_probe(vllm):
    out = sc.check(vllm.url, probe_timeout=2)
    assert out['state'] == 'idle' and out['serving'] and vllm.completions == 1


def test_idle_hung_server_is_unresponsive(vllm):
    vllm.hang.set()
    out = sc.check(vllm.url, probe_timeout=0.5)
    assert out['state'] == 'unresponsive' and not out['serving']
    assert 'no answer within 0.5s' in out['reason']


def test_busy_server_whose_tokens_advance_is_progressing(vllm):
    vllm.running = 2
    ticks = iter(range(100))

    def sleep(seconds):
        del seconds
        vllm.tokens += 3  # the engine produces tokens between two looks

    out = sc.check(vllm.url, stall_after=5, clock=lambda: float(next(ticks)), sleep=sleep)
    assert out['state'] == 'progressing' and out['serving'] and vllm.completions == 0


def test_busy_server_with_frozen_tokens_is_stalled(vllm):
    vllm.running, vllm.waiting, vllm.tokens = 1, 3, 42
    ticks = iter(range(100))
    out = sc.check(vllm.url, stall_after=5, clock=lambda: float(next(ticks)), sleep=lambda _: None)
    assert out['state'] == 'stalled' and not out['serving']
    assert out['reason'] == '1 requests running, 3 waiting, and no token produced for 6s (bound 5s)'


def test_down_server(vllm):
    url = vllm.url
    vllm.close()
    out = sc.check(url, timeout=1)
    assert out['state'] == 'down' and not out['serving']


def test_the_gateway_program_keeps_state_between_runs(vllm, tmp_path):
    """HAProxy runs the file once per check: busy and frozen, it passes until the bound, then fails."""
    config = tmp_path / 'check.json'
    config.write_text(json.dumps({'state_dir': str(tmp_path), 'stall_after': 0.3, 'probe_timeout': 0.5, 'probe_every': 60,
                                  'api_keys': {'node1': 'sk-key'}}))
    env = {'INFEROPS_SERVING_CHECK_CONFIG': str(config), 'HAPROXY_SERVER_NAME': 'node1'}
    host, port = vllm.url[len('http://'):].split(':')
    argv = ['127.0.0.1', '8080', host, port]
    assert sc.main(argv, env) == 0 and vllm.completions == 1  # idle: probed
    assert sc.main(argv, env) == 0 and vllm.completions == 1  # idle again within probe_every: not probed again
    vllm.running, vllm.tokens = 1, 7
    assert sc.main(argv, env) == 0
    threading.Event().wait(0.4)
    assert sc.main(argv, env) == 1  # no token for longer than stall_after
    vllm.tokens = 8
    assert sc.main(argv, env) == 0
    assert json.loads((tmp_path / 'node1.json').read_text())['busy']['tokens'] == 8
    # why the node left the rotation, kept for people (HAProxy's log says only that the check failed)
    failures = (tmp_path / 'failures.log').read_text().splitlines()
    assert len(failures) == 1 and ' node1 stalled: 1 requests running, 0 waiting, and no token produced for ' in failures[0], failures


def test_a_slow_engine_that_produces_tokens_while_the_probe_waits_is_not_hung(vllm):
    vllm.slow = 12
    out = sc.check(vllm.url, probe_timeout=0.5)
    assert out['state'] == 'progressing' and out['serving']
    assert 'produced 12 tokens meanwhile' in out['reason']


def test_a_failed_verdict_stands_without_a_new_probe_while_nothing_moves(vllm):
    """HAProxy's fall 2: the second failure comes at the next check, not one probe timeout later."""
    vllm.hang.set()
    out, kept = sc.check_once(vllm.url, {}, 100.0, probe_timeout=0.3, probe_every=2)
    assert out['state'] == 'unresponsive' and vllm.completions == 1
    out, kept = sc.check_once(vllm.url, kept, kept['failing']['at'] + 1, probe_timeout=0.3, probe_every=2)
    assert out['state'] == 'unresponsive' and out['reason'].startswith('still: ') and vllm.completions == 1
    # after probe_every, or once tokens move, it looks again: a recovered engine passes
    vllm.hang.clear()
    out, kept = sc.check_once(vllm.url, kept, kept['failing']['at'] + 2.5, probe_timeout=0.3, probe_every=2)
    assert out['state'] == 'idle' and vllm.completions == 2 and kept['failing'] is None


def test_defaults_leave_a_hung_node_out_within_10_seconds():
    """The gateway's worst case with the defaults, HAProxy checking every second, two failures in a row.

    Busy: the last token at t=0 is first seen by a check up to one interval later (the stall counts from there), the
    stall seen at the first check after stall_after, the second failure one check later (benchmarks/day2_faults.py
    measured 11.9 s with an 8 s bound: this sum). Idle: the last answered probe up to probe_every ago, the next check
    one interval later, the probe's timeout, the second failure one check later (the verdict stands)."""
    d, inter = sc.DEFAULTS, 1.0
    busy = inter + d['stall_after'] + inter + inter
    idle = d['probe_every'] + inter + d['probe_timeout'] + inter
    assert max(busy, idle) <= 10


def test_the_probe_sends_the_key_straight_to_the_node_and_names_a_refusal(vllm, monkeypatch):
    # A proxy in the environment that does not exist: the check must not use it.
    monkeypatch.setenv('http_proxy', 'http://127.0.0.1:9')
    monkeypatch.setenv('HTTP_PROXY', 'http://127.0.0.1:9')
    vllm.key = 'sk-right'
    assert sc.probe(vllm.url, 'sk-right', 'm', 2)[0]
    ok, _seconds, why = sc.probe(vllm.url, 'sk-wrong', 'm', 2)
    assert not ok and why.startswith('HTTP 401') and 'Unauthorized' in why, why


def test_an_ipv6_node_address_is_reached(vllm):
    port = vllm.url.rsplit(':', 1)[1]
    try:
        server = socket.create_server(('::1', 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip('no IPv6 loopback here')
    server.close()
    # The fake listens on 127.0.0.1 only: [::1] refuses, and the error says so (the address was parsed).
    out, _kept = sc.check_once('http://[::1]:%s' % port, {}, 0.0)
    assert out['state'] == 'down' and 'refused' in out['reason'].lower(), out


def dcgm_text(**values):
    """dcgm-exporter's text for two GPUs, as its double serves it; values: {metric: {gpu: value}}."""
    lines = []
    for name in ('DCGM_FI_DEV_GPU_UTIL', 'DCGM_FI_DEV_XID_ERRORS', 'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL', 'DCGM_FI_DEV_ROW_REMAP_FAILURE'):
        lines += ['# HELP %s x' % name, '# TYPE %s gauge' % name]
        for gpu in (0, 1):
            lines.append('%s{gpu="%d",UUID="GPU-%d",pci_bus_id="00000000:%02X:00.0",device="nvidia%d",modelName="NVIDIA H100 80GB HBM3"'
                         ',Hostname="n1"} %s' % (name, gpu, gpu, 6 + gpu, gpu, values.get(name, {}).get(gpu, 0)))
    return '\n'.join(lines) + '\n'


def test_the_xids_that_fail_the_gateway_check_are_the_health_checks():
    assert sc.FAIL_XIDS == gpu_health.DEFAULT_FAIL_XIDS


def test_parse_dcgm_names_fatal_xids_uncorrectable_ecc_and_failed_row_remapping():
    assert sc.parse_dcgm(dcgm_text()) == []
    assert sc.parse_dcgm(dcgm_text(DCGM_FI_DEV_XID_ERRORS={0: 13})) == []  # an application's fault, not the GPU's
    assert sc.parse_dcgm(dcgm_text(DCGM_FI_DEV_XID_ERRORS={1: 79})) == ['GPU 1: Xid 79']
    assert sc.parse_dcgm(dcgm_text(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL={0: 2}, DCGM_FI_DEV_ROW_REMAP_FAILURE={1: 1})) == [
        'GPU 0: 2 uncorrectable ECC error(s)', 'GPU 1: row remapping failed']


class FakeExporter(object):
    def __init__(self, text):
        fake = self
        self.text, self.asked = text, 0

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.asked += 1
                data = fake.text.encode()
                self.send_response(200)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d/metrics' % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_gpu_fault_fails_the_check_before_any_probe_and_a_reset_gpu_passes(vllm):
    exporter = FakeExporter(dcgm_text(DCGM_FI_DEV_XID_ERRORS={1: 48}))
    try:
        out, kept = sc.check_once(vllm.url, {}, 100.0, gpu_url=exporter.url)
        assert out['state'] == 'gpu_fault' and not out['serving'] and out['reason'] == 'GPU 1: Xid 48', out
        assert vllm.completions == 0  # the engine was not asked
        exporter.text = dcgm_text()  # the GPU reset: the driver reloaded, dcgm's last Xid is 0 again
        out, kept = sc.check_once(vllm.url, kept, 101.0, gpu_url=exporter.url)
        assert out['state'] == 'idle' and out['serving'] and exporter.asked == 2
    finally:
        exporter.close()


def test_an_exporter_that_does_not_answer_is_no_fault_and_is_left_alone_a_minute(vllm):
    exporter = FakeExporter('')
    url = exporter.url
    exporter.close()
    out, kept = sc.check_once(vllm.url, {}, 100.0, gpu_url=url)
    assert out['state'] == 'idle' and kept['gpu_retry_at'] == 100.0 + sc.GPU_RETRY_AFTER
    started = time.time()
    out, kept = sc.check_once(vllm.url, kept, 130.0, gpu_url=url)
    assert out['serving'] and time.time() - started < 0.5 and kept['gpu_retry_at'] == 160.0  # not asked again


def test_the_gateway_program_reads_each_nodes_exporter_from_its_settings(vllm, tmp_path):
    exporter = FakeExporter(dcgm_text(DCGM_FI_DEV_ECC_DBE_VOL_TOTAL={0: 1}))
    try:
        config = tmp_path / 'check.json'
        config.write_text(json.dumps({'state_dir': str(tmp_path), 'gpu_urls': {'node1': exporter.url}}))
        host, port = vllm.url[len('http://'):].split(':')
        argv = ['127.0.0.1', '8080', host, port]
        assert sc.main(argv, {'INFEROPS_SERVING_CHECK_CONFIG': str(config), 'HAPROXY_SERVER_NAME': 'node1'}) == 1
        assert sc.main(argv, {'INFEROPS_SERVING_CHECK_CONFIG': str(config), 'HAPROXY_SERVER_NAME': 'node2'}) == 0  # no exporter named
        assert exporter.asked == 1
    finally:
        exporter.close()


def test_a_key_with_a_line_break_is_refused_not_sent_as_extra_headers(vllm):
    ok, _seconds, why = sc.probe(vllm.url, 'sk-x\r\nX-Injected: 1', 'm', 2)
    assert not ok and 'line break' in why and 'sk-x' not in why and vllm.completions == 0, why
