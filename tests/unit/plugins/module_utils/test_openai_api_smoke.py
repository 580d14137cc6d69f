"""openai_api.smoke (vllm_smoke, and vllm_probe once ready): the three tests go out at once (or one after the other) and each is
judged on its own, against a local HTTP server; and Client.metrics."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.inferops.gpu_inference.plugins.module_utils.openai_api import Client, smoke


class Handler(BaseHTTPRequestHandler):
    """Answers like vLLM after a pause, counting the requests in flight at once; a chat asking 'fail' gets a 500."""
    lock = threading.Lock()
    in_flight = 0
    most = 0
    bodies = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        cls = type(self)
        cls.bodies.append(body)
        with cls.lock:
            cls.in_flight += 1
            cls.most = max(cls.most, cls.in_flight)
        time.sleep(0.3)
        with cls.lock:
            cls.in_flight -= 1
        if body.get('stream'):
            self.send_response(200)
            self.send_header('Content-Type', 'text/event-stream')
            self.end_headers()
            self.wfile.write(b'data: ' + json.dumps({'choices': [{'text': 'Paris'}]}).encode() + b'\n\ndata: [DONE]\n\n')
            self.close_connection = True
            return
        failing = any(m.get('content') == 'fail' for m in body.get('messages', []))
        data = json.dumps({'error': 'boom'} if failing else
                          {'choices': [{'text': 'Paris', 'message': {'content': 'Paris'}}], 'usage': {'completion_tokens': 2}}).encode()
        self.send_response(500 if failing else 200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def server():
    Handler.in_flight = Handler.most = 0
    Handler.bodies = []
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Client('http://127.0.0.1:%d' % httpd.server_address[1])
    httpd.shutdown()


def run(client, prompt='The capital of France is'):
    return smoke(client, ['completion', 'chat', 'stream'], 'tiny', prompt, 4)


def test_sends_the_three_at_once_and_passes_them(server):
    outcome = run(server)
    assert Handler.most == 3
    assert [outcome['tests'][n]['ok'] for n in ('completion', 'chat', 'stream')] == [True, True, True]
    assert outcome['failed'] == [] and outcome['message'] is None
    assert outcome['sample_response']['usage']['completion_tokens'] == 2


def test_a_failing_test_is_reported_by_itself(server):
    outcome = run(server, 'fail')
    assert outcome['tests']['chat']['ok'] is False and outcome['tests']['chat']['status'] == 500
    assert outcome['tests']['completion']['ok'] and outcome['tests']['stream']['ok']
    assert outcome['failed'] == ['chat'] and outcome['message'].startswith('smoke test failed: chat (HTTP 500')


def test_nothing_listening_fails_each_test_by_name():
    outcome = smoke(Client('http://127.0.0.1:9'), ['completion', 'stream'], 'tiny', 'x', 4)
    assert outcome['failed'] == ['completion', 'stream']
    assert all(outcome['tests'][n]['status'] is None for n in outcome['failed'])


def test_sequential_sends_one_at_a_time_with_the_temperature_given(server):
    """Guide 003's single timed request: one chat at temperature 0.2, its seconds its own."""
    outcome = smoke(server, ['completion', 'chat', 'stream'], 'tiny', 'Write exactly 400 tokens', 400, temperature=0.2, sequential=True)
    assert Handler.most == 1 and outcome['failed'] == []
    assert [b['temperature'] for b in Handler.bodies] == [0.2, 0.2, 0.2] and [b['max_tokens'] for b in Handler.bodies] == [400] * 3
    assert 'messages' in Handler.bodies[1] and Handler.bodies[2].get('stream') is True  # in the order given
    assert all(outcome['tests'][n]['seconds'] >= 0.3 for n in ('completion', 'chat', 'stream'))


def test_the_default_temperature_is_one(server):
    smoke(server, ['chat'], 'tiny', 'x', 4)
    assert [b['temperature'] for b in Handler.bodies] == [1.0]


class MetricsHandler(BaseHTTPRequestHandler):
    seen = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        MetricsHandler.seen.append((self.path, self.headers.get('Authorization')))
        data = b'# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{model_name="m"} 0.0\n'
        self.send_response(200 if self.path == '/metrics' else 404)
        self.send_header('Content-Type', 'text/plain; version=0.0.4')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_metrics_returns_the_prometheus_text_with_the_key_as_a_bearer():
    httpd = ThreadingHTTPServer(('127.0.0.1', 0), MetricsHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        status, text = Client('http://127.0.0.1:%d' % httpd.server_address[1], 'sk-metrics').metrics()
    finally:
        httpd.shutdown()
    assert status == 200 and text.startswith('# TYPE vllm:num_requests_running gauge')
    assert MetricsHandler.seen == [('/metrics', 'Bearer sk-metrics')]
    status, text = Client('http://127.0.0.1:9').metrics()
    assert status is None and text
