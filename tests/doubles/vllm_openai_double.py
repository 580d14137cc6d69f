#!/usr/bin/env python3
"""Test double of `vllm serve` for benchmarks of Ansible's own cost over many nodes.

Not vLLM: it answers the OpenAI-compatible endpoints that vllm_server's gate, smoke test and
evidence use (/health, /v1/models, /v1/completions, /v1/chat/completions, streamed or not, and
/metrics in vLLM's Prometheus text format, counting the requests it answered) with a fixed
short text, in milliseconds and a few MB, so that twenty "nodes" fit on a 2-core
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
SERVED = {'requests': 0, 'prompt_tokens': 0, 'generation_tokens': 0}
METRICS = """# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{{engine="0",model_name="{model}"}} 0.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{{engine="0",model_name="{model}"}} 0.0
# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{{engine="0",model_name="{model}"}} 0.0
# HELP vllm:request_success_total Count of successfully processed requests.
# TYPE vllm:request_success_total counter
vllm:request_success_total{{engine="0",finished_reason="length",model_name="{model}"}} {requests}.0
# HELP vllm:prompt_tokens_total Number of prefill tokens processed.
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{{engine="0",model_name="{model}"}} {prompt_tokens}.0
# HELP vllm:generation_tokens_total Number of generation tokens processed.
# TYPE vllm:generation_tokens_total counter
vllm:generation_tokens_total{{engine="0",model_name="{model}"}} {generation_tokens}.0
"""


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
        elif self.path == '/metrics':
            data = METRICS.format(model=MODEL, **SERVED).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self.reply(404, {'error': {'message': 'not found'}})

    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers.get('Content-Length') or 0)) or b'{}')
        chat = self.path == '/v1/chat/completions'
        if self.path not in ('/v1/completions', '/v1/chat/completions'):
            return self.reply(404, {'error': {'message': 'not found'}})
        SERVED.update(requests=SERVED['requests'] + 1, prompt_tokens=SERVED['prompt_tokens'] + 5,
                      generation_tokens=SERVED['generation_tokens'] + 2)
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
