#!/usr/bin/env python
"""TEST DOUBLE for DigitalOcean's API v2 (droplets): what community.digitalocean's droplet module
and inventory plugin call, as DigitalOcean's API reference describes it.

No DigitalOcean account or network here. Serves on loopback: GET /v2/droplets (paged:
page/per_page, links.pages.next, meta.total), POST /v2/droplets (202, status "new", then
"active" with its networks after a few reads), GET and DELETE /v2/droplets/{id}, GET
/v2/account and /v2/firewalls (none), droplet actions (power_on completes at once); bearer
authentication (401 {"id": "unauthorized", "message": ...}); 422 for an unknown size slug; 429 with
RateLimit headers every Nth request when asked. Droplets are given the address 127.0.0.1 (public
and private) so that tests wait for SSH on loopback only.

With --node-image, each created droplet is a real container (tests/doubles/bed_nodes.py) at its
own loopback address (127.0.0.11, .12, ...), which networks.v4 reports, with sshd on port 22;
the account's SSH key (--ssh-key, a .pub file; GET /v2/account/keys lists it) is authorized on
the droplets whose ssh_keys name it (by id or MD5 fingerprint), as DigitalOcean does; deleting
the droplet removes the container and what it ran.

  digitalocean_api_double.py [--port 18950] [--token T] [--per-page N] [--rate-limit-every N]
                             [--node-image I --ssh-key F]
"""
import argparse
import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bed_nodes

# List prices per hour (USD) of the GPU sizes, as the public pricing page gives them; the API's
# size object carries price_hourly.
PRICES = {'gpu-h100x1-80gb': 3.39, 'gpu-h100x8-640gb': 23.92, 'gpu-h200x1-141gb': 3.44, 'gpu-l40sx1-48gb': 1.57,
          'gpu-6000adax1-48gb': 1.89, 'gpu-4000adax1-20gb': 0.76, 'gpu-mi300x1-192gb': 1.99, 's-2vcpu-4gb': 0.036}
SIZES = ('gpu-h100x1-80gb', 'gpu-h100x8-640gb', 'gpu-h200x1-141gb', 'gpu-l40sx1-48gb', 'gpu-6000adax1-48gb',
         'gpu-4000adax1-20gb', 'gpu-mi300x1-192gb', 's-2vcpu-4gb')


class State(object):
    def __init__(self, options):
        self.options, self.lock = options, threading.Lock()
        self.droplets, self.reads, self.next_id, self.requests, self.log = {}, {}, 500000001, 0, []
        # A test may set the answer of GET /v2/droplets (a hostile or broken provider): bytes or any JSON value.
        self.answer = None
        # Fields a test sets into every answer about an active droplet (GET one or the list, after POST).
        self.patch = {}
        self.nodes, self.keys = None, []
        if options.node_image:
            with open(options.ssh_key) as handle:
                public = handle.read().strip()
            digest = hashlib.md5(base64.b64decode(public.split()[1])).hexdigest()  # nosec - DigitalOcean's fingerprint
            self.keys = [{'id': 1001, 'name': 'inferops-journey', 'public_key': public,
                          'fingerprint': ':'.join(digest[i:i + 2] for i in range(0, 32, 2))}]
            self.nodes = bed_nodes.NodeMaker('droplet', options.node_image, '', '127.0.0.11', host_network=True)


def droplet_view(state, droplet):
    out = dict(droplet)
    if state.reads.get(droplet['id'], 0) < state.options.provision_reads:
        out['status'] = 'new'
        out['networks'] = {'v4': [], 'v6': []}
    elif state.patch:
        out.update(state.patch)  # a hostile or broken provider: fields a test set, in every answer about a droplet
    return out


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
                self._send(401, {'id': 'unauthorized', 'message': 'Unable to authenticate you'})
                return False
            if opts.rate_limit_every and count % opts.rate_limit_every == 0:
                self._send(429, {'id': 'too_many_requests', 'message': 'API Rate limit exceeded.'},
                           {'RateLimit-Remaining': '0', 'Retry-After': '0'})
                return False
            return True

        def _parts(self):
            path, dummy, query = self.path.partition('?')
            params = dict(p.split('=', 1) for p in query.split('&') if '=' in p)
            return [p for p in path.split('/') if p], params

        def do_GET(self):
            if not self._gate():
                return
            parts, params = self._parts()
            if parts == ['v2', 'firewalls']:
                return self._send(200, {'firewalls': [], 'links': {}, 'meta': {'total': 0}})
            if parts == ['v2', 'account', 'keys']:
                return self._send(200, {'ssh_keys': state.keys, 'links': {}, 'meta': {'total': len(state.keys)}})
            if parts == ['v2', 'account']:
                return self._send(200, {'account': {'status': 'active', 'droplet_limit': 25}})
            if parts == ['v2', 'droplets']:
                if state.answer is not None:  # a hostile or broken provider, as a test sets it
                    return bed_nodes.send_raw(self, state.answer)
                items = [droplet_view(state, d) for d in state.droplets.values()]
                if params.get('tag_name'):
                    items = [d for d in items if params['tag_name'] in d['tags']]
                per_page = int(params.get('per_page', opts.per_page))
                page = int(params.get('page', 1))
                chunk = items[(page - 1) * per_page:page * per_page]
                pages = {}
                if page * per_page < len(items):
                    pages['next'] = 'http://%s/v2/droplets?page=%d&per_page=%d' % (self.headers.get('Host'), page + 1, per_page)
                return self._send(200, {'droplets': chunk, 'links': {'pages': pages}, 'meta': {'total': len(items)}})
            if len(parts) == 5 and parts[:2] == ['v2', 'droplets'] and parts[3] == 'actions':
                return self._send(200, {'action': {'id': int(parts[4]), 'status': 'completed'}})
            if len(parts) == 3 and parts[:2] == ['v2', 'droplets']:
                droplet = state.droplets.get(int(parts[2])) if parts[2].isdigit() else None
                if not droplet:
                    return self._send(404, {'id': 'not_found', 'message': 'The resource you were accessing could not be found.'})
                with state.lock:
                    state.reads[droplet['id']] = state.reads.get(droplet['id'], 0) + 1
                return self._send(200, {'droplet': droplet_view(state, droplet)})
            self._send(404, {'id': 'not_found', 'message': 'no route %s' % self.path})

        def do_POST(self):
            if not self._gate():
                return
            parts, dummy = self._parts()
            body = json.loads(self.rfile.read(int(self.headers.get('Content-Length') or 0)) or b'{}')
            if len(parts) == 4 and parts[:2] == ['v2', 'droplets'] and parts[3] == 'actions' and parts[2].isdigit():
                droplet = state.droplets.get(int(parts[2]))
                if not droplet:
                    return self._send(404, {'id': 'not_found', 'message': 'The resource you were accessing could not be found.'})
                state.reads[droplet['id']] = state.options.provision_reads  # powered on: active with its networks
                return self._send(201, {'action': {'id': 7000 + droplet['id'] % 1000, 'status': 'completed', 'type': body.get('type')}})
            if parts != ['v2', 'droplets']:
                return self._send(404, {'id': 'not_found', 'message': 'no route %s' % self.path})
            if body.get('size') not in SIZES:
                return self._send(422, {'id': 'unprocessable_entity', 'message': 'You specified an invalid size for Droplet creation.'})
            with state.lock:
                droplet_id = state.next_id
                state.next_id += 1
            droplet = {'id': droplet_id, 'name': body['name'], 'status': 'active', 'size_slug': body['size'],
                       'size': {'slug': body['size'], 'price_hourly': PRICES.get(body['size'], 0.0)},
                       'region': {'slug': body.get('region'), 'name': body.get('region')},
                       'image': {'slug': body.get('image')}, 'tags': body.get('tags') or [], 'vpc_uuid': body.get('vpc_uuid'),
                       'features': ['monitoring'] if body.get('monitoring') else [],
                       'networks': {'v4': [{'ip_address': '127.0.0.1', 'type': 'public'},
                                           {'ip_address': '127.0.0.1', 'type': 'private'}], 'v6': []}}
            if state.nodes:
                wanted = [str(k) for k in body.get('ssh_keys') or []]
                keys = '\n'.join(k['public_key'] for k in state.keys if str(k['id']) in wanted or k['fingerprint'] in wanted)
                gpus = int(body['size'].split('x')[1].split('-')[0]) if body['size'].startswith('gpu-') else 0
                address, dummy = state.nodes.make(droplet_id, body['name'], gpus, public_key=keys)
                droplet['networks']['v4'] = [{'ip_address': address, 'type': 'public'}, {'ip_address': address, 'type': 'private'}]
            state.droplets[droplet_id] = droplet
            self._send(202, {'droplet': droplet_view(state, droplet), 'links': {'actions': []}})

        def do_DELETE(self):
            if not self._gate():
                return
            parts, dummy = self._parts()
            if len(parts) == 3 and parts[:2] == ['v2', 'droplets'] and parts[2].isdigit() and int(parts[2]) in state.droplets:
                del state.droplets[int(parts[2])]
                if state.nodes:
                    state.nodes.remove(int(parts[2]))
                return self._send(204)
            self._send(404, {'id': 'not_found', 'message': 'The resource you were accessing could not be found.'})

    return Handler


def make_server(port=0, token='do-test-token', per_page=20, rate_limit_every=0, provision_reads=2, node_image='', ssh_key=''):
    state = State(argparse.Namespace(token=token, per_page=per_page, rate_limit_every=rate_limit_every,
                                     provision_reads=provision_reads, node_image=node_image, ssh_key=ssh_key))
    server = ThreadingHTTPServer(('127.0.0.1', port), make_handler(state))
    server.state = state
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, default=18950)
    parser.add_argument('--token', default='do-test-token')
    parser.add_argument('--per-page', type=int, default=20)
    parser.add_argument('--rate-limit-every', type=int, default=0)
    bed_nodes.add_arguments(parser, 'droplet')
    args = parser.parse_args()
    server = make_server(args.port, args.token, args.per_page, args.rate_limit_every, node_image=args.node_image, ssh_key=args.ssh_key)
    bed_nodes.serve(server)


if __name__ == '__main__':
    main()
