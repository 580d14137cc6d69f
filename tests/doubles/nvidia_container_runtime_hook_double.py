#!/usr/bin/python3
"""TEST DOUBLE for nvidia-container-runtime-hook (the NVIDIA Container Toolkit's OCI prestart hook).

dockerd registers its "nvidia" device driver, and so accepts ``docker run --gpus ...`` /
``DeviceRequests``, only when a program of this name is on its PATH when it starts; it then adds
``NVIDIA_VISIBLE_DEVICES`` (and ``NVIDIA_DRIVER_CAPABILITIES``) to the container's environment and
this program as a prestart hook (``nvidia-container-runtime-hook prestart``, the container's OCI
state on standard input). The real hook mounts the driver's libraries and the ``/dev/nvidia*``
nodes of those GPUs into the container; this machine has neither, so the double only records what
it was asked for and lets the container start: one JSON line per start in
/var/log/nvidia-container-runtime-hook-double.log (container id, NVIDIA_VISIBLE_DEVICES,
NVIDIA_DRIVER_CAPABILITIES). tests/bed/ensure_docker.sh installs it as
/usr/local/bin/nvidia-container-runtime-hook before it starts dockerd.
"""
import json
import os
import sys
import time

LOG = '/var/log/nvidia-container-runtime-hook-double.log'


def main(argv):
    if argv[:1] != ['prestart']:
        sys.stderr.write('nvidia-container-runtime-hook test double: only "prestart" is replayed, not %r\n' % (argv,))
        return 0 if argv[:1] == ['poststart'] or argv[:1] == ['poststop'] else 2
    state = json.load(sys.stdin)
    with open(os.path.join(state['bundle'], 'config.json')) as handle:
        env = dict(item.split('=', 1) for item in json.load(handle).get('process', {}).get('env', []) if '=' in item)
    record = {'time': time.time(), 'id': state.get('id'),
              'NVIDIA_VISIBLE_DEVICES': env.get('NVIDIA_VISIBLE_DEVICES'),
              'NVIDIA_DRIVER_CAPABILITIES': env.get('NVIDIA_DRIVER_CAPABILITIES')}
    with open(LOG, 'a') as handle:
        handle.write(json.dumps(record) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
