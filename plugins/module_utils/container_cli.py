# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker and podman command lines that replace a server container and roll it back: the one driver of the
container runtimes. Replace: set the running one aside (renamed, stopped), run the new one. Restore: remove the
failed one (its log tail kept), rename the set-aside one back and start it.

Both engines take the same `run` flags for what a vLLM server needs (ports, volumes, env, labels,
ipc, shm, ulimits, restart policy, pull policy); GPUs differ: docker's `--gpus` (the NVIDIA
container toolkit), podman's CDI `--device nvidia.com/gpu=N`.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


# The module's options and their `run` flags, in the order they are given: dicts as key=value, lists one flag per item.
RUN_FLAGS = (('labels', '--label'), ('env', '--env'), ('volumes', '--volume'), ('ports', '--publish'),
             ('network', '--network'), ('gpus', '--gpus'), ('devices', '--device'), ('ipc', '--ipc'),
             ('shm_size', '--shm-size'), ('ulimits', '--ulimit'), ('restart_policy', '--restart'),
             ('security_opts', '--security-opt'), ('hooks_dir', '--hooks-dir'))


def run_args(spec):
    """The argv after the engine's name for `run -d` of the container spec (a dict of the module's options)."""
    args = ['run', '-d', '--name', spec['name'], '--pull', spec.get('pull') or 'missing']
    for option, flag in RUN_FLAGS:
        value = spec.get(option)
        if isinstance(value, dict):
            value = ['%s=%s' % item for item in sorted(value.items())]
        elif not isinstance(value, list):
            value = [value] if value else []
        for item in value:
            args += [flag, item]
    return args + [spec['image']] + list(spec.get('command') or [])


# `container inspect NAME` also finds a container whose ID starts with NAME: the name it reports is compared.
INSPECT_FORMAT = '{{.Name}}|{{index .Config.Labels "inferops.vllm_server.fingerprint"}}'


def found(run, name):
    """None where no container is named exactly `name`; else whether vllm_server started it (its fingerprint label)."""
    if not name:
        return None
    rc, out, dummy = run(['container', 'inspect', '--format', INSPECT_FORMAT, name])
    if rc != 0:
        return None
    got, dummy, label = out.strip().partition('|')
    if got.lstrip('/') != name:
        return None
    return label not in ('', '<no value>')


def replace(run, spec, set_aside, stop_timeout, log_size=None, check_mode=False):
    """Set the container named spec['name'] aside as `set_aside` (an older one of that name is removed) and stop
    it, then start the new one. `run(argv)` runs the engine with argv and returns (rc, stdout, stderr);
    `log_size()` gives the server log's size once the old server stopped writing. Returns a result dict.
    Raises ContainerError naming the step that failed."""
    name = spec['name']
    exists = found(run, name) is not None
    result = {'changed': True, 'set_aside': exists, 'args': run_args(spec), 'container_id': ''}
    if check_mode:
        if log_size is not None:
            result['log_offset'] = log_size()
        return result
    if exists:
        if not set_aside:
            raise ContainerError('a container named %s exists and no set_aside name was given' % name)
        # `podman rm -f a b` removes nothing when b is missing: one name per call.
        step(run, ['rm', '-f', set_aside], 'remove the older %s' % set_aside)
        step(run, ['rename', name, set_aside], 'rename %s to %s' % (name, set_aside))
        step(run, ['stop', '-t', str(stop_timeout), set_aside], 'stop %s' % set_aside)
    if log_size is not None:
        result['log_offset'] = log_size()
    out = step(run, result['args'], 'start %s' % name)
    result['container_id'] = (out.strip().splitlines() or [''])[-1]
    return result


def restore(run, name, set_aside, log_lines=80, check_mode=False):
    """Undo replace(): keep the failed container's last log lines, remove it, and when a container named `set_aside`
    exists rename it back to `name` and start it (an empty `set_aside`: there was none to keep). Returns a result dict
    with the failed server's log tail; raises ContainerError naming the step that failed."""
    rc, out, err = run(['logs', '--tail', str(log_lines), name])
    result = {'changed': True, 'log_tail': (out + err).splitlines() if rc == 0 else [], 'restored': False}
    kept = found(run, set_aside) is not None
    if check_mode:
        result['restored'] = kept
        return result
    step(run, ['rm', '-f', name], 'remove the failed %s' % name)
    if kept:
        step(run, ['rename', set_aside, name], 'rename %s back to %s' % (set_aside, name))
        step(run, ['start', name], 'start the previous %s' % name)
        result['restored'] = True
    return result


def remove(run, names, stop_timeout=30, check_mode=False):
    """Stop (letting requests in flight finish within stop_timeout) and remove each container of `names` that exists.
    Returns a result dict naming those removed; raises ContainerError naming the step that failed."""
    there = dict((n, found(run, n)) for n in names if n)
    foreign = [n for n, ours in there.items() if ours is False]
    if foreign:
        raise ContainerError('%s: not started by vllm_server (no inferops.vllm_server.fingerprint label): not removed'
                             % ', '.join(foreign))
    removed = [n for n, ours in there.items() if ours]
    if not check_mode:
        for name in removed:
            step(run, ['stop', '-t', str(stop_timeout), name], 'stop %s' % name)
            step(run, ['rm', '-f', name], 'remove %s' % name)
    return {'changed': bool(removed), 'removed': removed}


class ContainerError(Exception):
    pass


def step(run, argv, what):
    rc, out, err = run(argv)
    if rc != 0:
        raise ContainerError('could not %s: %s' % (what, (err or out).strip()[-1000:]))
    return out
