# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""GPU telemetry sampled while a benchmark runs: from nvidia-smi's loop mode or dcgm-exporter.

nvidia-smi: one long-lived `nvidia-smi --query-gpu=... --format=csv,noheader,nounits -lms N`
process (not one process per sample). dcgm-exporter: its /metrics endpoint read every N ms
in a thread. Both give samples {t, gpu, util_pct, mem_used_mib, power_w}; summarize() turns
them into mean and peak utilisation, idle fraction, peak memory and mean power per run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import subprocess
import threading
import time

from ansible_collections.inferops.gpu_inference.plugins.module_utils import http_util

SMI_FIELDS = 'index,utilization.gpu,memory.used,power.draw'
DCGM = {'DCGM_FI_DEV_GPU_UTIL': 'util_pct', 'DCGM_FI_DEV_FB_USED': 'mem_used_mib', 'DCGM_FI_DEV_POWER_USAGE': 'power_w'}
PREFIXES = tuple(name + '{' for name in DCGM)
SERIES = re.compile(r'^(\w+)\{([^}]*)\}\s+(\S+)')
GPU_LABEL = re.compile(r'gpu="(\d+)"')


def _float(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def parse_smi_line(line, t):
    parts = [p.strip() for p in line.split(',')]
    if len(parts) != 4 or not parts[0].isdigit():
        return None
    return {'t': round(t, 3), 'gpu': int(parts[0]), 'util_pct': _float(parts[1]),
            'mem_used_mib': _float(parts[2]), 'power_w': _float(parts[3])}


def parse_dcgm_text(text, t):
    """Samples per GPU from dcgm-exporter's text (a small reader, stdlib only, for the node)."""
    gpus = {}
    for line in text.splitlines():
        # Most lines are other metrics or comments: a cheap prefix test before the regex.
        if not line.startswith(PREFIXES):
            continue
        match = SERIES.match(line)
        if not match or match.group(1) not in DCGM:
            continue
        gpu = GPU_LABEL.search(match.group(2))
        if gpu:
            gpus.setdefault(int(gpu.group(1)), {})[DCGM[match.group(1)]] = _float(match.group(3))
    return [dict({'t': round(t, 3), 'gpu': g, 'util_pct': None, 'mem_used_mib': None, 'power_w': None}, **v)
            for g, v in sorted(gpus.items())]


def end_process(proc, timeout=5.0):
    """Terminate a child process (kill it after timeout s), reap it and return the CPU seconds it used."""
    proc.terminate()
    end = time.time() + timeout
    flags = os.WNOHANG
    while True:
        try:
            pid, status, usage = os.wait4(proc.pid, flags)
        except OSError:  # already reaped
            return 0.0
        if pid:
            proc.returncode = status
            return usage.ru_utime + usage.ru_stime
        if time.time() < end:
            time.sleep(0.05)
        else:
            proc.kill()
            flags = 0


class Sampler(object):
    """start() before the run, stop() after; samples holds what was read."""

    def __init__(self, source, interval_ms=500, nvidia_smi='nvidia-smi', dcgm_url=None):
        self.source, self.interval = source, max(50, int(interval_ms))
        self.nvidia_smi, self.dcgm_url = nvidia_smi, dcgm_url
        self.samples, self.errors = [], []
        # CPU seconds the sampling itself used on the node (the nvidia-smi process, or the
        # polling thread), so that its cost can be told apart from run-to-run noise.
        self.cpu_s = 0.0
        self._proc = self._thread = None
        self._stop = threading.Event()
        self._t0 = None

    def start(self):
        self._t0 = time.time()
        if self.source == 'nvidia-smi':
            try:
                # nvidia-smi -lms runs for the whole benchmark and its lines are read as they come;
                # run_command would wait for it to end.
                self._proc = subprocess.Popen(  # pylint: disable=ansible-bad-function
                    [self.nvidia_smi, '--query-gpu=' + SMI_FIELDS, '--format=csv,noheader,nounits', '-lms', str(self.interval)],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
            except OSError as exc:
                self.errors.append('cannot run %s: %s' % (self.nvidia_smi, exc))
                return
            self._thread = threading.Thread(target=self._read_smi)
        else:
            self._thread = threading.Thread(target=self._poll_dcgm)
        self._thread.daemon = True
        self._thread.start()

    def _read_smi(self):
        for line in self._proc.stdout:
            sample = parse_smi_line(line, time.time() - self._t0)
            if sample:
                self.samples.append(sample)

    def _poll_dcgm(self):
        cpu0 = time.thread_time()
        # dcgm-exporter's metrics are at /metrics where the URL names no path (as before the shared client).
        url = self.dcgm_url if '/' in self.dcgm_url.split('://', 1)[-1] else self.dcgm_url + '/metrics'
        while not self._stop.is_set():
            status, text = http_util.get_text(url, timeout=2)
            if status == 200:
                self.samples.extend(parse_dcgm_text(text, time.time() - self._t0))
            elif not self.errors:
                self.errors.append('dcgm-exporter %s: %s' % (self.dcgm_url, text if status is None else 'HTTP %s' % status))
            self.cpu_s = time.thread_time() - cpu0
            self._stop.wait(self.interval / 1000.0)

    def stop(self):
        self._stop.set()
        if self._proc is not None:
            self.cpu_s = end_process(self._proc)
        if self._thread is not None:
            self._thread.join(timeout=5)
        return self.samples


def summarize(samples, idle_below_pct=5.0):
    """Per run: mean and peak utilisation, idle fraction, peak memory, mean power (all GPUs)."""
    util = [s['util_pct'] for s in samples if s.get('util_pct') is not None]
    mem = [s['mem_used_mib'] for s in samples if s.get('mem_used_mib') is not None]
    power = [s['power_w'] for s in samples if s.get('power_w') is not None]
    return {
        'samples': len(samples),
        'gpus': sorted(set(s['gpu'] for s in samples)),
        'util_mean_pct': round(sum(util) / len(util), 2) if util else None,
        'util_peak_pct': max(util) if util else None,
        'idle_fraction': round(sum(1 for u in util if u < idle_below_pct) / len(util), 3) if util else None,
        'mem_used_peak_mib': max(mem) if mem else None,
        'power_mean_w': round(sum(power) / len(power), 2) if power else None,
    }
