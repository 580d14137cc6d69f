"""Tests of the one HTTP client (plugins/module_utils/http_util.py) against a real local server."""
import json
import socket
import threading

import pytest
from http import server as BaseHTTPServer

from ansible_collections.inferops.gpu_inference.plugins.module_utils import http_util


class Handler(BaseHTTPServer.BaseHTTPRequestHandler):
    def log_message(self, *args):  # quiet
        pass

    def _answer(self, status, body, headers=()):
        data = body.encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == '/busy':
            return self._answer(429, '{"error": "slow down"}', [('Retry-After', '7')])
        return self._answer(200, json.dumps({'path': self.path, 'auth': self.headers.get('Authorization')}))

    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        return self._answer(201, body.decode())


@pytest.fixture(scope='module')
def server():
    httpd = BaseHTTPServer.HTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    httpd.shutdown()


def test_get_sends_the_path_query_and_headers(server):
    status, text, headers = http_util.request(server + '/v1/models?x=1', headers={'Authorization': 'Bearer k'})
    assert status == 200 and json.loads(text) == {'path': '/v1/models?x=1', 'auth': 'Bearer k'}
    assert headers['content-length'] == str(len(text))


def test_post_body_and_status(server):
    assert http_util.request(server + '/p', 'POST', '{"a": 1}', {'Content-Type': 'application/json'})[:2] == (201, '{"a": 1}')


def test_response_headers_are_lower_case(server):
    status, dummy, headers = http_util.request(server + '/busy')
    assert status == 429 and headers['retry-after'] == '7'


def test_nothing_listening_is_one_of_errors_and_get_text_says_why():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()  # a port that nothing listens on
    with pytest.raises(http_util.ERRORS):
        http_util.request('http://127.0.0.1:%d/health' % port, timeout=2)
    status, text = http_util.get_text('http://127.0.0.1:%d/metrics' % port, timeout=2)
    assert status is None and 'ConnectionRefused' in text
    assert http_util.get_text('ftp://127.0.0.1/metrics')[0] is None


def test_urls_other_than_http_are_refused_naming_them():
    with pytest.raises(ValueError, match="not 'ftp://x/'"):
        http_util.split('ftp://x/')
    with pytest.raises(ValueError, match='http://host'):
        http_util.split('https://x/', schemes=('http',))
    assert http_util.split('https://rest.runpod.io/v1/pods?a=b') == ('https', 'rest.runpod.io', 443, '/v1/pods?a=b')


def test_an_answer_over_the_limit_is_refused_not_read(server):
    status, text, dummy = http_util.request(server + '/small', max_body=4096)
    assert status == 200 and '/small' in text
    with pytest.raises(http_util.TooLarge, match='longer than 16 bytes'):
        http_util.request(server + '/a-path-longer-than-sixteen-bytes', max_body=16)
    status, text = http_util.get_text(server + '/x', timeout=5)
    assert status == 200
