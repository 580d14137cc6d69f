"""gpu_sampler: loop-mode sampling from a child process and the CPU time the sampling used.

The child stands in for `nvidia-smi -lms` (no GPU here): a small Python loop printing CSV
lines like nvidia-smi's, which also burns some CPU so that its accounted cost is not zero.
"""
import os
import stat
import sys
import time

from ansible_collections.inferops.gpu_inference.plugins.module_utils.gpu_sampler import Sampler, end_process

LOOP_DOUBLE = '''#!%s
import sys, time
end = time.time() + 30
while time.time() < end:
    t = time.time()
    while time.time() - t < 0.02:
        pass
    print("0, 87, 40000, 350.5", flush=True)
    time.sleep(0.03)
'''


def write_double(tmp_path):
    path = str(tmp_path / 'nvidia-smi-loop-double')
    with open(path, 'w') as handle:
        handle.write(LOOP_DOUBLE % sys.executable)
    os.chmod(path, stat.S_IRWXU)
    return path


def test_smi_sampler_reads_lines_and_accounts_the_child_cpu(tmp_path):
    sampler = Sampler('nvidia-smi', interval_ms=50, nvidia_smi=write_double(tmp_path))
    sampler.start()
    time.sleep(1.0)
    samples = sampler.stop()
    assert len(samples) >= 5
    assert samples[0]['util_pct'] == 87 and samples[0]['mem_used_mib'] == 40000
    # About 20 ms of busy loop per 50 ms: well above zero, well below the 1 s it ran.
    assert 0.05 < sampler.cpu_s < 1.0


def test_end_process_kills_a_child_that_ignores_terminate(tmp_path):
    import subprocess
    proc = subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(30)'])
    time.sleep(0.3)
    t0 = time.time()
    cpu = end_process(proc, timeout=0.5)
    assert time.time() - t0 < 5 and cpu >= 0.0 and proc.returncode is not None
