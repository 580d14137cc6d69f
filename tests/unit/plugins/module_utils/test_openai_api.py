"""The OpenAI API client against a local HTTP server that speaks like vLLM (status codes, SSE)."""
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible_collections.inferops.gpu_inference.plugins.module_utils.openai_api import ApiError, Client, completion_text


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == '/health':
            self.send_response(200)
            self.send_header('Content-Length', '0')
            self.end_headers()
        elif self.headers.get('Authorization') != 'Bearer k':
            self._json(401, {'error': 'Unauthorized'})
        else:
            self._json(200, {'data': [{'id': 'tiny'}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
        if body.get('stream'):
            self.send_response(200)
            self.send_header('Content-Type', 'text/event-stream')
            self.end_headers()
            for word in ('Par', 'is'):
                self.wfile.write(b'data: ' + json.dumps({'choices': [{'text': word}]}).encode() + b'\n\n')
            self.wfile.write(b'data: [DONE]\n\n')
            self.close_connection = True
        else:
            self._json(200, {'choices': [{'message': {'content': 'Paris'}}], 'usage': {'completion_tokens': 1}})


@pytest.fixture()
def server():
    httpd = HTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    httpd.shutdown()


def test_health_models_and_auth(server):
    assert Client(server).health() == 200
    assert Client(server).models() == (401, [])
    assert Client(server, api_key='k').models() == (200, ['tiny'])


def test_chat_and_stream(server):
    status, body = Client(server).request('POST', '/v1/chat/completions', {'model': 'tiny', 'messages': []})
    assert status == 200 and completion_text(body) == 'Paris'
    status, chunks, done, error = Client(server).stream('/v1/completions', {'model': 'tiny', 'prompt': 'x'})
    assert (status, done, error) == (200, True, None)
    assert ''.join(completion_text(c) for c in chunks) == 'Paris'


def test_nothing_listening():
    assert Client('http://127.0.0.1:9').health() is None


def test_client_names_the_host_and_port_it_talks_to():
    client = Client('http://10.0.0.7:8001/')
    assert (client.host, client.port, client.base_url) == ('10.0.0.7', 8001, 'http://10.0.0.7:8001')
    assert Client('http://localhost').port == 80
    with pytest.raises(ApiError, match='base URL must be http://host:port'):
        Client('https://x')
