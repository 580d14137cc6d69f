#!/usr/bin/env python
"""Benchmark: what GPU telemetry sampling costs the benchmark's output throughput (goal <= 2 %).

On the CPU bed: starts the real vLLM CPU server in a container and a dcgm-exporter test
double (there is no GPU here, so the sampler polls the double's endpoint as it would a real
dcgm-exporter), then runs the vllm_bench module (runner exec, the real `vllm bench serve`)
R times with sampling (every 500 ms, the role's default) and R times without, in ABBA order, in one run of this script.
Prints the median output throughput of each and the cost in percent, and beside it two figures
that tell the cost from noise on this 2-core bed, where the CPU server, the benchmark client
and the sampler share the cores:

  noise:     the spread of the runs without sampling (half their max - min, in percent of
             their median): a throughput difference smaller than this is not a measured cost;
  CPU share: the CPU seconds the sampling used (the polling thread, as vllm_bench reports it,
             plus what the exporter spent answering, from /proc) over the time it sampled (the
             module run) x the cores. On a CPU-bound server this is what sampling can take from its throughput;
             on a GPU node it takes CPU time the GPU-bound server does not need.

  .venv/bin/python benchmarks/sampling_overhead.py [--rounds 4] [--prompts 100]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

from bedlib import bed_server_argv, setup

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
NAME, PORT, DCGM_PORT = 'inferops-bench-sampling', 18211, 19411


def up(url, timeout):
    end = time.time() + timeout
    while time.time() < end:
        try:
            if urllib.request.urlopen(url, timeout=2).status == 200:
                return True
        except OSError:
            time.sleep(1)
    return False


def cpu_s(pid):
    """User + system CPU seconds of a process, from /proc/<pid>/stat."""
    with open('/proc/%d/stat' % pid) as handle:
        fields = handle.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf('SC_CLK_TCK'))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=4)
    parser.add_argument('--prompts', type=int, default=100)
    parser.add_argument('--interval-ms', type=int, default=500, help='sampling interval (the role default is 500)')
    args = parser.parse_args()
    setup()
    bindir = os.path.dirname(sys.executable)
    subprocess.run(['docker', 'rm', '-f', NAME], capture_output=True, check=False)
    subprocess.run(['docker', 'run', '-d', '--name', NAME, '-p', '127.0.0.1:%d:8000' % PORT, '--shm-size', '1g'] + bed_server_argv(),
                   check=True, capture_output=True)
    double = subprocess.Popen([sys.executable, os.path.join(ROOT, 'tests', 'doubles', 'dcgm_exporter_double.py'),
                               '--port', str(DCGM_PORT)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.collections'), ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
               ANSIBLE_STDOUT_CALLBACK='ansible.builtin.json')
    try:
        if not up('http://127.0.0.1:%d/health' % PORT, 180):
            sys.exit('the vLLM server did not come up')
        results = {'none': [], 'dcgm-exporter': []}
        shares = []
        for index in range(args.rounds * 2):
            # ABBA order, so that drift over the run (caches, clocks) falls on both sides alike.
            mode = ('dcgm-exporter', 'none', 'none', 'dcgm-exporter')[index % 4]
            module_args = {'runner': 'exec', 'container': NAME, 'model': 'tiny-llama', 'tokenizer': '/models/tiny-llama',
                           'input_len': 64, 'output_len': 64, 'num_prompts': args.prompts, 'request_rate': 'inf',
                           'result_dir': '/tmp/inferops-bench-sampling', 'result_name': 'run%d.json' % index,
                           'sample_gpu': mode, 'sample_interval_ms': args.interval_ms, 'dcgm_url': 'http://127.0.0.1:%d/metrics' % DCGM_PORT,
                           'server_metrics': False}
            exporter_cpu0 = cpu_s(double.pid)
            proc = subprocess.run([os.path.join(bindir, 'ansible'), 'localhost', '-c', 'local', '-i', 'localhost,',
                                   '-e', 'ansible_python_interpreter=' + sys.executable, '-m', 'inferops.gpu_inference.vllm_bench',
                                   '-a', json.dumps(module_args)], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
            exporter_cpu = cpu_s(double.pid) - exporter_cpu0
            try:
                out = json.loads(proc.stdout)['plays'][0]['tasks'][0]['hosts']['localhost']
            except (ValueError, KeyError, IndexError):
                sys.exit('run failed:\n' + proc.stdout[-3000:] + proc.stderr[-2000:])
            if out.get('failed'):
                sys.exit('run failed: %s' % out.get('msg'))
            tput = out['bench']['output_throughput_tok_s']
            samples = (out.get('gpu') or {}).get('samples', 0)
            results[mode].append(tput)
            share = ''
            if mode != 'none':
                used = (out.get('gpu') or {}).get('sampler_cpu_s', 0.0) + exporter_cpu
                # The sampler runs for the whole module run (tokenizer load included), not only the benchmark.
                shares.append(100.0 * used / (out['seconds'] * os.cpu_count()))
                share = ', sampling used %.3f s CPU = %.3f %% of the cores' % (used, shares[-1])
            print('round %d  sampling=%-13s output %.1f tok/s  (%d samples%s)' % (index, mode, tput, samples, share))
        with_s, without = statistics.median(results['dcgm-exporter']), statistics.median(results['none'])
        print('median output throughput: without sampling %.1f tok/s, with sampling %.1f tok/s' % (without, with_s))
        noise = (max(results['none']) - min(results['none'])) / 2.0 / without * 100.0
        print('cost of sampling: %.2f %%  (goal <= 2 %%); noise of the runs without sampling: +-%.2f %%'
              % ((without - with_s) / without * 100.0, noise))
        print('CPU share of the sampling (thread + exporter) per run: median %.3f %%, max %.3f %% of %d cores  (goal <= 2 %%)'
              % (statistics.median(shares), max(shares), os.cpu_count()))
    finally:
        double.terminate()
        subprocess.run(['docker', 'rm', '-f', NAME], capture_output=True, check=False)


if __name__ == '__main__':
    main()
