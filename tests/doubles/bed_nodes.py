"""TEST BED: the machines behind the provider API doubles (tests/journey).

When a provider double is told to make nodes (``--node-image``), ``POST /v2/droplets`` or
``POST /v1/pods`` starts a real container here and the double reports it the way the real API
reports a machine: its address (``networks.v4`` for DigitalOcean, ``publicIp`` +
``portMappings`` for RunPod) and its SSH port; delete/terminate removes it. Each node:

- runs tests/bed/ssh-node's first-boot script (fresh host keys, PUBLIC_KEY authorized, sshd);
- has a GPU the way the NVIDIA container toolkit gives one: ``nvidia-smi`` mounted from the
  host, here the nvidia-smi TEST DOUBLE replaying real H100 captures, as many GPUs as the size
  or gpuCount asked for (the only stand-in: no GPU here);
- droplets share the host's network, each at its own loopback address (127.0.0.11, .12, ...;
  sshd on port 22 there), and drive the host's Docker engine (its socket shared, as the bed's
  other nodes do; what a droplet ran there is removed with it, as a destroyed droplet's disk is);
- pods have their own network; their TCP ports are published on their own loopback address
  (127.0.0.21, .22, ...) at ports Docker picks, as RunPod maps a pod's ports to public ones.

Only loopback addresses are used. Every container carries the label inferops.bed.node.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.abspath(os.path.join(HERE, '..', 'unit', 'fixtures', 'gpu', 'h100-80gb-x1'))
LABEL = 'inferops.bed.node'
BED_ROOT = '/srv/inferops-bed'


def docker(*args, check=True):
    proc = subprocess.run(('docker',) + args, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError('docker %s: %s' % (' '.join(args[:2]), proc.stderr.strip()))
    return proc.stdout.strip()


def wait_for_port(address, port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((address, port), timeout=1) as sock:
                if sock.recv(4).startswith(b'SSH'):
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError('no SSH answer on %s:%d within %d s' % (address, port, timeout))


def remove_node(container, shared_engine_name=None):
    """Remove a node's container; for a node on the shared engine (a droplet), what it ran there goes with it
    (the containers mounting its folder under BED_ROOT) and so does its folder, as a destroyed droplet's disk does."""
    docker('rm', '-f', container, check=False)
    if not shared_engine_name:
        return
    state = os.path.join(BED_ROOT, shared_engine_name)
    for cid in docker('ps', '-aq').split():
        mounts = docker('inspect', '--format', '{{range .Mounts}}{{.Source}} {{end}}', cid, check=False)
        if any(m == state or m.startswith(state + '/') for m in mounts.split()):
            docker('rm', '-f', cid, check=False)
    shutil.rmtree(state, ignore_errors=True)


class NodeMaker(object):
    """Makes and removes the node containers of one provider double."""

    def __init__(self, provider, image, public_key, first_address, host_network):
        self.provider, self.image, self.public_key = provider, image, public_key
        self.first_address, self.host_network = first_address, host_network
        self.lock = threading.Lock()
        self.nodes = {}  # id -> {'container', 'address', 'ports', 'name'}

    def _address(self):
        used = set(n['address'] for n in self.nodes.values())
        prefix, last = self.first_address.rsplit('.', 1)
        for n in range(int(last), 255):
            if '%s.%d' % (prefix, n) not in used:
                return '%s.%d' % (prefix, n)
        raise RuntimeError('no free loopback address')

    def make(self, node_id, name, gpus, ports=(22,), env=None, public_key=None):
        """Start the node; return its address and {container port: host port}."""
        with self.lock:
            address = self._address()
            container = 'inferops-%s-%s' % (self.provider, name)
            self.nodes[node_id] = {'container': container, 'address': address, 'ports': {}, 'name': name}
        cmd = ['run', '-d', '--name', container, '--hostname', name, '--label', '%s=%s' % (LABEL, self.provider),
               '--shm-size', '1g', '-e', 'PUBLIC_KEY=%s' % (self.public_key if public_key is None else public_key),
               '-v', '%s:/usr/bin/nvidia-smi:ro' % os.path.join(HERE, 'nvidia_smi_double.py'),
               '-v', '%s:/usr/local/share/nvidia-smi-double:ro' % FIXTURES]
        for key, value in sorted((env or {}).items()):
            cmd += ['-e', '%s=%s' % (key, value)]
        if self.host_network:
            state = os.path.join(BED_ROOT, name)
            os.makedirs(state, exist_ok=True)
            cmd += ['--network', 'host', '--add-host', '%s:%s' % (name, address), '-e', 'SSH_LISTEN_ADDRESS=%s' % address,
                    '-v', '/var/run/docker.sock:/var/run/docker.sock', '-v', '/usr/bin/docker:/usr/bin/docker:ro',
                    '-v', '%s:%s' % (state, state),
                    # The CDI spec the GPU image's NVIDIA toolkit writes (its device nodes: /dev/null here).
                    '-v', '%s:/etc/cdi/nvidia.yaml:ro' % os.path.join(HERE, 'cdi', 'nvidia.yaml')]
        else:
            for port in ports:
                cmd += ['-p', '%s::%d' % (address, port)]
        docker(*(cmd + [self.image]))
        docker('exec', container, 'sh', '-c', 'cat > /etc/nvidia-smi-double.json <<EOF\n%s\nEOF' % json.dumps({'gpus': gpus}))
        if self.host_network:
            mapped = dict((port, port) for port in ports)
        else:
            mapped = {}
            for port in ports:
                mapped[port] = int(docker('port', container, '%d/tcp' % port).splitlines()[0].rsplit(':', 1)[1])
        wait_for_port(address, mapped[22])
        with self.lock:
            self.nodes[node_id]['ports'] = mapped
        return address, mapped

    def remove(self, node_id):
        with self.lock:
            node = self.nodes.pop(node_id, None)
        if node:
            remove_node(node['container'], node['name'] if self.host_network else None)

    def remove_all(self):
        for node_id in list(self.nodes):
            self.remove(node_id)


def add_arguments(parser, what):
    """The options of a provider double that makes nodes."""
    parser.add_argument('--node-image', default='', help='make each created %s a real container of this image' % what)
    parser.add_argument('--ssh-key', default='', help="the account's SSH public key (a .pub file), with --node-image")


def serve(server):
    """Serve until SIGTERM or Ctrl-C, then remove the nodes still there."""
    signal.signal(signal.SIGTERM, lambda *dummy: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        if server.state.nodes:
            server.state.nodes.remove_all()


def send_raw(handler, answer):
    """Send what a test set as an API double's list answer (a hostile or broken provider): bytes as they are, a tuple
    (status, headers, body), anything else as JSON. Shared by the RunPod and DigitalOcean doubles."""
    status, headers = 200, {}
    if isinstance(answer, tuple):
        status, headers, answer = answer
    data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
    handler.send_response(status)
    handler.send_header('Content-Type', 'application/json')
    handler.send_header('Content-Length', str(len(data)))
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)
