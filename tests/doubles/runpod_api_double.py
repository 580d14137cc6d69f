#!/usr/bin/env python
"""TEST DOUBLE for RunPod's REST API (https://rest.runpod.io/v1): the endpoints the collection uses.

No RunPod account or network here. This serves, on loopback, what the public API reference
describes for them: GET/POST /v1/pods, GET/DELETE /v1/pods/{id}, POST /v1/pods/{id}/stop and
/start; Bearer authentication (401 with a JSON error body); 400 bodies for bad input (an
unknown GPU type); 404 for unknown ids; 429 with Retry-After every Nth request when asked;
pages with nextCursor when a page size is set. Pods start from the recorded bodies in
tests/unit/fixtures/runpod/pods.json; a created pod gets its public IP and SSH port mapping
only after a few reads, as a real one takes a while to be placed.

With --node-image, the double starts with no pods and each created pod is a real container
(tests/doubles/bed_nodes.py): its TCP ports are published on its own loopback address, which is
its publicIp, with the ports Docker picked as portMappings; the account's SSH key (--ssh-key, a
.pub file) is passed as PUBLIC_KEY, as RunPod passes the keys of the account; terminating the
pod removes the container.

  runpod_api_double.py [--port 18900] [--token T] [--page-size N] [--rate-limit-every N]
                       [--provision-reads N] [--fail-create MODE] [--node-image I --ssh-key F]
"""
import argparse
import json
import os
import random
import string
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bed_nodes

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'unit', 'fixtures', 'runpod', 'pods.json')
# GPU ids from RunPod's GPU types reference (docs.runpod.io/references/gpu-types), the ones the guides and tests use.
GPU_TYPES = ('NVIDIA H100 80GB HBM3', 'NVIDIA H100 PCIe', 'NVIDIA H100 NVL', 'NVIDIA H200', 'NVIDIA L40S', 'NVIDIA L40',
             'NVIDIA L4', 'NVIDIA RTX 6000 Ada Generation', 'NVIDIA RTX 4000 Ada Generation', 'NVIDIA RTX A6000',
             'NVIDIA RTX A5000', 'NVIDIA RTX A4000', 'NVIDIA A40', 'NVIDIA A100 80GB PCIe', 'NVIDIA A100-SXM4-80GB',
             'NVIDIA GeForce RTX 4090', 'NVIDIA GeForce RTX 3090')


class State(object):
    def __init__(self, options):
        self.options = options
        self.lock = threading.Lock()
        # A test may set the answer of GET /v1/pods (a hostile or broken provider): bytes or any JSON value.
        self.answer = None
        # Fields a test sets into every answer about a pod (GET one or the list, POST).
        self.patch = {}
        self.nodes = None
        if options.node_image:
            with open(options.ssh_key) as handle:
                key = handle.read().strip()
            self.nodes = bed_nodes.NodeMaker('pod', options.node_image, key, '127.0.0.21', host_network=False)
            self.pods = {}
        else:
            with open(FIXTURE) as handle:
                self.pods = dict((p['id'], p) for p in json.load(handle))
        self.reads = {}
        self.requests = 0
        self.log = []


def tcp_ports(pod):
    return [int(str(p).split('/', maxsplit=1)[0]) for p in pod.get('ports') or [] if str(p).endswith('/tcp')]


def public_ports(pod, base):
    """RunPod maps every TCP port of a pod to a public port (SSH's 22 even when not asked for)."""
    return dict((str(port), base + i) for i, port in enumerate(sorted(set([22] + tcp_ports(pod)))))


def make_handler(state):
    opts = state.options

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _send(self, status, body=None, headers=None):
            data = json.dumps(body).encode() if body is not None else b''
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _gate(self):
            with state.lock:
                state.requests += 1
                count = state.requests
                state.log.append('%s %s' % (self.command, self.path))
            if self.headers.get('Authorization') != 'Bearer ' + opts.token:
                self._send(401, {'error': 'Unauthorized: invalid or missing API key'})
                return False
            if opts.rate_limit_every and count % opts.rate_limit_every == 0:
                self._send(429, {'error': 'Too many requests'}, {'Retry-After': '0'})
                return False
            return True

        def _parts(self):
            path, dummy, query = self.path.partition('?')
            params = dict(p.split('=', 1) for p in query.split('&') if '=' in p)
            return [p for p in path.split('/') if p], params

        def _view(self, pod):
            """A created pod gets its IP and SSH mapping after provision_reads reads."""
            pod = dict(pod)
            if pod.get('_pending') is not None:
                reads = state.reads.get(pod['id'], 0)
                if reads < opts.provision_reads:
                    pod.update(publicIp=None, portMappings=None)
                pod.pop('_pending')
            pod.update(state.patch)  # a hostile or broken provider: fields a test set, in every answer about a pod
            return pod

        def do_GET(self):
            if not self._gate():
                return
            parts, params = self._parts()
            if parts == ['v1', 'pods']:
                if state.answer is not None:  # a hostile or broken provider, as a test sets it
                    return bed_nodes.send_raw(self, state.answer)
                pods = [self._view(p) for p in state.pods.values() if p['desiredStatus'] != 'TERMINATED']
                if not opts.page_size:
                    return self._send(200, pods)
                start = int(params.get('cursor', 0))
                page = pods[start:start + opts.page_size]
                nxt = start + opts.page_size if start + opts.page_size < len(pods) else None
                return self._send(200, {'data': page, 'nextCursor': str(nxt) if nxt is not None else None})
            if len(parts) == 3 and parts[:2] == ['v1', 'pods']:
                pod = state.pods.get(parts[2])
                if not pod or pod['desiredStatus'] == 'TERMINATED':
                    return self._send(404, {'error': 'pod %s not found' % parts[2]})
                with state.lock:
                    state.reads[pod['id']] = state.reads.get(pod['id'], 0) + 1
                return self._send(200, self._view(pod))
            if parts == ['control', 'log']:
                return self._send(200, state.log)
            self._send(404, {'error': 'no route %s' % self.path})

        def do_POST(self):
            if not self._gate():
                return
            parts, dummy = self._parts()
            length = int(self.headers.get('Content-Length') or 0)
            try:
                body = json.loads(self.rfile.read(length) or b'{}')
            except ValueError:
                return self._send(400, {'error': 'request body is not JSON'})
            if parts == ['v1', 'pods']:
                return self._create(body)
            if len(parts) == 4 and parts[:2] == ['v1', 'pods'] and parts[3] in ('stop', 'start'):
                pod = state.pods.get(parts[2])
                if not pod or pod['desiredStatus'] == 'TERMINATED':
                    return self._send(404, {'error': 'pod %s not found' % parts[2]})
                pod['desiredStatus'] = 'EXITED' if parts[3] == 'stop' else 'RUNNING'
                if parts[3] == 'stop':
                    pod.update(publicIp=None, portMappings=None)
                else:
                    pod.update(publicIp='203.0.113.%d' % (50 + len(state.pods)), portMappings=public_ports(pod, 20000 + 100 * len(state.pods)))
                return self._send(200, self._view(pod))
            self._send(404, {'error': 'no route %s' % self.path})

        def _create(self, body):
            missing = [k for k in ('name', 'imageName') if not body.get(k)]
            if missing:
                return self._send(400, {'error': 'missing required field(s): %s' % ', '.join(missing)})
            unknown = [g for g in body.get('gpuTypeIds') or [] if g not in GPU_TYPES]
            if unknown:
                return self._send(400, {'error': 'invalid gpuTypeIds %s; valid: %s' % (unknown, ', '.join(GPU_TYPES))})
            if opts.fail_create == 'no-capacity':
                return self._send(500, {'error': 'There are no longer any instances available with the requested specifications.'})
            pod_id = ''.join(random.choice(string.ascii_lowercase + string.digits) for dummy in range(14))
            gpu = (body.get('gpuTypeIds') or ['NVIDIA H100 80GB HBM3'])[0]
            pod = {'id': pod_id, 'name': body['name'], 'image': body['imageName'], 'desiredStatus': 'RUNNING',
                   'costPerHr': 2.99, 'gpu': {'id': gpu, 'count': body.get('gpuCount', 1), 'displayName': gpu.replace('NVIDIA ', '')},
                   'containerDiskInGb': body.get('containerDiskInGb', 50), 'volumeInGb': body.get('volumeInGb', 0),
                   'ports': body.get('ports') or [], 'env': dict((k, '***') for k in body.get('env') or {}),
                   'dockerStartCmd': body.get('dockerStartCmd') or [], 'publicIp': '203.0.113.%d' % (20 + len(state.pods)),
                   '_pending': True}
            pod['portMappings'] = public_ports(pod, 10000 + 100 * len(state.pods))
            if opts.fail_create == 'half-made':
                pod['desiredStatus'] = 'RUNNING'
                state.pods[pod_id] = pod
                return self._send(502, {'error': 'upstream timeout while deploying the pod'})
            if state.nodes:
                address, mapped = state.nodes.make(pod_id, body['name'], pod['gpu']['count'], ports=sorted(set([22] + tcp_ports(pod))),
                                                   env=dict(body.get('env') or {}, RUNPOD_POD_ID=pod_id))
                pod.update(publicIp=address, portMappings=dict((str(k), v) for k, v in mapped.items()), costPerHr=2.69)
            state.pods[pod_id] = pod
            self._send(201, self._view(pod))

        def do_DELETE(self):
            if not self._gate():
                return
            parts, dummy = self._parts()
            if len(parts) == 3 and parts[:2] == ['v1', 'pods']:
                pod = state.pods.get(parts[2])
                if not pod or pod['desiredStatus'] == 'TERMINATED':
                    return self._send(404, {'error': 'pod %s not found' % parts[2]})
                pod['desiredStatus'] = 'TERMINATED'
                if state.nodes:
                    state.nodes.remove(pod['id'])
                return self._send(204)
            self._send(404, {'error': 'no route %s' % self.path})

    return Handler


def make_server(port=0, token='test-token', page_size=0, rate_limit_every=0, provision_reads=2, fail_create='',
                node_image='', ssh_key=''):
    options = argparse.Namespace(token=token, page_size=page_size, rate_limit_every=rate_limit_every,
                                 provision_reads=provision_reads, fail_create=fail_create, node_image=node_image, ssh_key=ssh_key)
    state = State(options)
    server = ThreadingHTTPServer(('127.0.0.1', port), make_handler(state))
    server.state = state
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, default=18900)
    parser.add_argument('--token', default='test-token')
    parser.add_argument('--page-size', type=int, default=0)
    parser.add_argument('--rate-limit-every', type=int, default=0)
    parser.add_argument('--provision-reads', type=int, default=2)
    parser.add_argument('--fail-create', default='', choices=['', 'no-capacity', 'half-made'])
    bed_nodes.add_arguments(parser, 'pod')
    args = parser.parse_args()
    server = make_server(args.port, args.token, args.page_size, args.rate_limit_every, args.provision_reads, args.fail_create,
                         args.node_image, args.ssh_key)
    bed_nodes.serve(server)


if __name__ == '__main__':
    main()
