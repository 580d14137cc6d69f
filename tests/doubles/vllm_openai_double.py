#!/usr/bin/env python3
"""Test double of `vllm serve` for benchmarks of Ansible's own cost over many nodes.

Not vLLM: it answers the OpenAI-compatible endpoints that vllm_server's gate and smoke test
use (/health, /v1/models, /v1/completions, /v1/chat/completions, streamed or not) with a
fixed short text, in milliseconds and a few MB, so that twenty "nodes" fit on a 2-core
machine. It takes `vllm serve`'s command line (MODEL --served-model-name=NAME --port=N ...)
and ignores the options it does not need. Standard library only.
"""
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def option(args, name, default):
    for i, arg in enumerate(args):
        if arg.startswith(name + '='):
            return arg.split('=', 1)[1]
        if arg == name and i + 1 < len(args):
            return args[i + 1]
    return default


ARGS = [a for a in sys.argv[1:] if a != 'serve']
MODEL = option(ARGS, '--served-model-name', ARGS[0] if ARGS else 'model')
PORT = int(option(ARGS, '--port', '8000'))
TEXT = ' Paris.'


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == '/health':
            self.send_response(200)
            self.send_header('Content-Length', '0')
            self.end_headers()
        elif self.path == '/v1/models':
            self.reply(200, {'object': 'list', 'data': [{'id': MODEL, 'object': 'model'}]})
        else:
            self.reply(404, {'error': {'message': 'not found'}})

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get('Content-Length') or 0)) or b'{}')
        chat = self.path == '/v1/chat/completions'
        if self.path not in ('/v1/completions', '/v1/chat/completions'):
            return self.reply(404, {'error': {'message': 'not found'}})
        choice = {'index': 0, 'finish_reason': 'length'}
        choice.update({'message': {'role': 'assistant', 'content': TEXT}} if chat else {'text': TEXT})
        body = {'id': 'cmpl-double', 'object': 'chat.completion' if chat else 'text_completion', 'created': int(time.time()),
                'model': MODEL, 'choices': [choice], 'usage': {'prompt_tokens': 5, 'completion_tokens': 2, 'total_tokens': 7}}
        if not request.get('stream'):
            return self.reply(200, body)
        self.send_response(200)
        self.send_header('Content-Type', 'text/event-stream')
        self.send_header('Connection', 'close')
        self.end_headers()
        delta = {'index': 0, 'delta': {'content': TEXT}} if chat else {'index': 0, 'text': TEXT}
        for event in (dict(body, choices=[delta]), '[DONE]'):
            self.wfile.write(('data: %s\n\n' % (event if event == '[DONE]' else json.dumps(event))).encode())
        self.close_connection = True


if __name__ == '__main__':
    ThreadingHTTPServer(('0.0.0.0', PORT), Handler).serve_forever()
