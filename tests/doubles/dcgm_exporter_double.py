#!/usr/bin/env python3
"""TEST DOUBLE for dcgm-exporter: serves dcgm-exporter-format metrics over HTTP (no GPU here).

Serves ``/metrics`` in the Prometheus text format dcgm-exporter uses (``DCGM_FI_*``
gauges with gpu, UUID, pci_bus_id, device, modelName and Hostname labels), one series per
GPU, with values taken from the real H100 nvidia-smi capture that the nvidia-smi double
replays (utilisation, framebuffer use, power, temperature, clocks). The GPU count comes
from the same profile file as the nvidia-smi double (/etc/nvidia-smi-double.json).

    dcgm_exporter_double.py [--port 9400] [--bind 127.0.0.1] [--gpus N] [--omit METRIC ...] [--faults FILE]

--faults: a JSON file read at each request, {"METRIC": {"GPU index": value}}, that sets a GPU's value of a metric
(``{"DCGM_FI_DEV_XID_ERRORS": {"0": 79}}``: GPU 0's last Xid is 79, as after it fell off the bus); a metric not in the
list is added (``DCGM_FI_DEV_ECC_DBE_VOL_TOTAL``). No file, or an empty one: the healthy values.
"""
import argparse
import json
import os
import socket
from http.server import BaseHTTPRequestHandler, HTTPServer

MODEL = 'NVIDIA H100 80GB HBM3'
UUID = 'GPU-5454c17d-a746-134b-536f-351e5c5ac5d2'
# name, type, help, value: from the H100 capture (smi_query_loaded.csv, smi_dmon_pucm.txt)
METRICS = [
    ('DCGM_FI_DEV_SM_CLOCK', 'gauge', 'SM clock frequency (in MHz).', 1410),
    ('DCGM_FI_DEV_MEM_CLOCK', 'gauge', 'Memory clock frequency (in MHz).', 2619),
    ('DCGM_FI_DEV_MEMORY_TEMP', 'gauge', 'Memory temperature (in C).', 49),
    ('DCGM_FI_DEV_GPU_TEMP', 'gauge', 'GPU temperature (in C).', 57),
    ('DCGM_FI_DEV_POWER_USAGE', 'gauge', 'Power draw (in W).', 698.31),
    ('DCGM_FI_DEV_GPU_UTIL', 'gauge', 'GPU utilization (in %).', 100),
    ('DCGM_FI_DEV_MEM_COPY_UTIL', 'gauge', 'Memory utilization (in %).', 32),
    ('DCGM_FI_DEV_FB_FREE', 'gauge', 'Framebuffer memory free (in MiB).', 80197),
    ('DCGM_FI_DEV_FB_USED', 'gauge', 'Framebuffer memory used (in MiB).', 883),
    ('DCGM_FI_DEV_XID_ERRORS', 'gauge', 'Value of the last XID error encountered.', 0),
]


def gpu_count(default):
    path = '/etc/nvidia-smi-double.json'
    if default is None and os.path.exists(path):
        with open(path) as handle:
            return int(json.load(handle).get('gpus', 1))
    return default or 1


def faults_of(path):
    if not path:
        return {}
    try:
        with open(path) as handle:
            return json.load(handle) or {}
    except (OSError, ValueError):
        return {}


def render(gpus, omit, faults=None):
    host = socket.gethostname()
    lines = []
    faults = faults or {}
    metrics = METRICS + [(name, 'gauge', 'Set by the test.', 0) for name in sorted(faults) if name not in [m[0] for m in METRICS]]
    for name, kind, text, value in metrics:
        if name in omit:
            continue
        lines.append('# HELP %s %s' % (name, text))
        lines.append('# TYPE %s %s' % (name, kind))
        for i in range(gpus):
            uuid = UUID[:-2] + '%02x' % i if i else UUID
            labels = 'gpu="%d",UUID="%s",pci_bus_id="00000000:%02X:00.0",device="nvidia%d",modelName="%s",Hostname="%s"' % (
                i, uuid, 0x06 + i, i, MODEL, host)
            lines.append('%s{%s} %s' % (name, labels, (faults.get(name) or {}).get(str(i), value)))
    return '\n'.join(lines) + '\n'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int, default=9400)
    parser.add_argument('--bind', default='127.0.0.1')
    parser.add_argument('--gpus', type=int, default=None)
    parser.add_argument('--omit', nargs='*', default=[])
    parser.add_argument('--faults', default='', help='a JSON file of values to set, read at each request')
    args = parser.parse_args()
    gpus = gpu_count(args.gpus)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.path.split('?')[0] != '/metrics':
                self.send_error(404)
                return
            body = render(gpus, set(args.omit), faults_of(args.faults)).encode()
            self.send_response(200)
            self.send_header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    HTTPServer((args.bind, args.port), Handler).serve_forever()


if __name__ == '__main__':
    main()
