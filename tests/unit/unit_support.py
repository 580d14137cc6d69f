"""Shared helpers of the unit tests; importing it makes this checkout importable as
ansible_collections.inferops.gpu_inference (see conftest.py)."""
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
FIXTURES = os.path.join(ROOT, 'tests', 'unit', 'fixtures')
DOUBLES = os.path.join(ROOT, 'tests', 'doubles')
H100 = os.path.join(FIXTURES, 'gpu', 'h100-80gb-x1')


def _collection_root():
    # Under ansible-test the checkout already sits at .../ansible_collections/inferops/gpu_inference.
    parts = ROOT.split(os.sep)
    if parts[-3:-2] == ['ansible_collections']:
        return os.sep.join(parts[:-3])
    link_parent = os.path.join(ROOT, '.collections', 'ansible_collections', 'inferops')
    link = os.path.join(link_parent, 'gpu_inference')
    if not os.path.exists(link):
        os.makedirs(link_parent, exist_ok=True)
        os.symlink(os.path.join('..', '..', '..'), link)
    return os.path.join(ROOT, '.collections')


sys.path.insert(0, _collection_root())
sys.path.insert(0, DOUBLES)


def install_collection_finder():
    """Ansible's collection loader, as every ansible CLI installs it (for plugins asked for by their full name: a lookup,
    or a filter in a role's templates). Returns the finder; its _remove() takes it out.

    The tests import this checkout from sys.path, where its folders without __init__.py (the collection, plugins/filter)
    are namespace packages: no file, no collection metadata, which the plugin loader needs. They are set aside while the
    finder is in, so that it imports them as the CLI does, and put back after."""
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    saved = dict((name, module) for name, module in sys.modules.items()
                 if name.startswith('ansible_collections') and getattr(module, '__file__', None) is None)
    for name in saved:
        del sys.modules[name]
    finder = _AnsibleCollectionFinder(paths=[_collection_root()])
    finder._install()
    remove = finder._remove

    def _remove():
        remove()
        sys.modules.update(saved)
    finder._remove = _remove
    return finder


def double_runner(profile=None, calls=None):
    """Run the nvidia-smi test double (replays the real captures) as a process."""
    env = dict(os.environ, NVIDIA_SMI_DOUBLE_FIXTURES=H100, NVIDIA_SMI_DOUBLE_PROFILE=profile or '{}')

    def run(args):
        if calls is not None:
            calls.append(list(args))
        proc = subprocess.run([sys.executable, os.path.join(DOUBLES, 'nvidia_smi_double.py')] + list(args),
                              capture_output=True, text=True, env=env, check=False)
        return proc.returncode, proc.stdout, proc.stderr
    return run


def run_module(name, args, env=None, check_mode=False):
    """Run a module of this collection as Ansible runs it on a node (a Python process reading its
    arguments), with this checkout importable; returns its JSON result (rc in '_rc')."""
    import json
    import tempfile
    path = os.path.join(ROOT, 'plugins', 'modules', name + '.py')
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': dict(args, _ansible_check_mode=check_mode)}, handle)
    try:
        proc = subprocess.run([sys.executable, path, handle.name], capture_output=True, text=True, check=False,
                              env=dict(os.environ, PYTHONPATH=_collection_root(), **(env or {})))
    finally:
        os.unlink(handle.name)
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('%s printed no JSON (rc %d): %s %s' % (name, proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:]))
    result['_rc'] = proc.returncode
    return result


def fake_executable(folder, name, script):
    """A stand-in for a command on PATH (a shell script), for a module test; returns its path."""
    path = os.path.join(folder, name)
    with open(path, 'w') as handle:
        handle.write('#!/bin/sh\n' + script)
    os.chmod(path, 0o755)
    return path


def make_action(action_class, args, check_mode=False, variables=None):
    """An action plugin instance with these task arguments (no connection: controller-side work only),
    and a real templar over these variables."""
    from unittest.mock import MagicMock
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook.play_context import PlayContext
    from ansible.template import Templar
    task = MagicMock(async_val=0, check_mode=check_mode, diff=False)
    task.args = args
    loader = DataLoader()
    return action_class(task, MagicMock(), PlayContext(), loader, Templar(loader=loader, variables=variables or {}), None)


def supervisord_config(folder):
    """A supervisord configuration whose socket, logs and program folder (conf.d) are all in `folder`."""
    return """[unix_http_server]
file={d}/supervisor.sock
[supervisord]
logfile={d}/supervisord.log
pidfile={d}/supervisord.pid
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[include]
files = {d}/conf.d/*.conf
""".format(d=folder)
