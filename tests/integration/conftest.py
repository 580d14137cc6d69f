"""Run ansible-playbook from this checkout with the collection on its path."""
import json
import os
import socket
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
# The collection's Python code, imported as ansible_collections.inferops.gpu_inference (make collection links it).
sys.path.insert(0, os.path.join(ROOT, '.collections'))


def pytest_configure(config):
    config.addinivalue_line('markers', 'bed_images: needs the bed\'s test images (tests/run_all.sh runs these once they are '
                            'built; the others only need the Docker engine)')


@pytest.fixture(scope='session')
def playbook():
    link = os.path.join(ROOT, '.collections', 'ansible_collections', 'inferops', 'gpu_inference')
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.join('..', '..', '..'), link)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'))
    exe = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')

    def run(path, extra_vars, options=()):
        cmd = [exe] + list(options) + [
            '-i', 'localhost,', '-c', 'local', '-e', 'ansible_python_interpreter=' + sys.executable,
            '-e', json.dumps(extra_vars), os.path.join(ROOT, path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=300)
        return proc.returncode, proc.stdout + proc.stderr
    return run


@pytest.fixture()
def ssh_port():
    """A listener standing in for the droplets' SSH daemon (the droplets' address is 127.0.0.1)."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    sock.listen(16)
    yield sock.getsockname()[1]
    sock.close()
