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


def test_dcgm_sampler_scrapes_metrics_where_the_url_names_no_path():
    import threading as _threading
    import time as _time
    from http import server as http_server

    import dcgm_exporter_double
    from ansible_collections.inferops.gpu_inference.plugins.module_utils.gpu_sampler import Sampler as _Sampler
    paths = []

    class Exporter(http_server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            paths.append(self.path)
            body = dcgm_exporter_double.render(1, set()).encode()
            self.send_response(200 if self.path == '/metrics' else 404)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http_server.HTTPServer(('127.0.0.1', 0), Exporter)
    _threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        sampler = _Sampler('dcgm', interval_ms=50, dcgm_url='http://127.0.0.1:%d' % httpd.server_address[1])
        sampler.start()
        _time.sleep(0.3)
        sampler.stop()
    finally:
        httpd.shutdown()
    assert paths and set(paths) == {'/metrics'} and sampler.samples and not sampler.errors
