"""vllm_bench run as a module, with no real vLLM: a stand-in (for `vllm`, or for `docker`) records each command line
and the OPENAI_API_KEY it got, prints a real `vllm bench serve` output from tests/unit/fixtures/vllm_bench and writes
(or, for `docker cp`, copies) the matching --save-result JSON. Covers how the command line is built for the three
runners and the options, that the key never reaches a command line, how the text and JSON results are parsed and
merged, the server's /metrics snapshots (a real HTTP server on loopback), GPU sampling with the nvidia-smi double,
and the arguments refused before anything runs."""
import json
import os
import sys
import threading
from http import server as http_server

import pytest

from unit_support import DOUBLES, FIXTURES, H100, fake_executable, run_module

BENCH = os.path.join(FIXTURES, 'vllm_bench')
# Stands for `vllm` and for `docker`: the json of each call in $STATE/calls.jsonl.
STAND_IN = r'''
import json, os, shutil, sys, time
argv = sys.argv[1:]
with open(os.path.join(os.environ['STATE'], 'calls.jsonl'), 'a') as handle:
    handle.write(json.dumps({'argv': argv, 'key': os.environ.get('OPENAI_API_KEY'), 'hf_token': os.environ.get('HF_TOKEN'),
                             'hf_home': os.environ.get('HF_HOME'), 'hf_endpoint': os.environ.get('HF_ENDPOINT')}) + '\n')
if 'bench' in argv:
    time.sleep(float(os.environ.get('BENCH_SLEEP', '0')))
    if argv[0] != 'exec' and os.environ.get('BENCH_JSON'):  # with exec, the JSON stays in the serving container
        folder = argv[argv.index('--result-dir') + 1]
        shutil.copy(os.environ['BENCH_JSON'], os.path.join(folder, argv[argv.index('--result-filename') + 1]))
    sys.stdout.write(open(os.environ['BENCH_TXT']).read())
    sys.exit(int(os.environ.get('BENCH_RC', '0')))
if argv[0] == 'cp':
    shutil.copy(os.environ['BENCH_JSON'], argv[2])
'''


def fixture_lines(name):
    with open(os.path.join(BENCH, name)) as handle:
        return handle.read().splitlines()


class Metrics(http_server.BaseHTTPRequestHandler):
    """The server's /metrics: a counter of the scrapes, and the Authorization header each one sent."""
    scrapes = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        Metrics.scrapes.append(self.headers.get('Authorization'))
        body = ('vllm:scrapes_total %d\n' % len(Metrics.scrapes)).encode()
        self.send_response(200 if self.path == '/metrics' else 404)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope='module')
def metrics_url():
    httpd = http_server.HTTPServer(('127.0.0.1', 0), Metrics)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield 'http://127.0.0.1:%d' % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def bed(tmp_path):
    """(env, stand-in path, calls(), result dir): the stand-in on PATH as `vllm` and `docker`, replaying real-random-inf."""
    bindir, state = tmp_path / 'bin', tmp_path / 'state'
    bindir.mkdir()
    state.mkdir()
    (tmp_path / 'stand_in.py').write_text(STAND_IN)
    script = 'exec %s %s "$@"\n' % (sys.executable, tmp_path / 'stand_in.py')
    vllm = fake_executable(str(bindir), 'vllm', script)
    fake_executable(str(bindir), 'docker', script)
    env = {'PATH': '%s:%s' % (bindir, os.environ['PATH']), 'STATE': str(state),
           'BENCH_TXT': os.path.join(BENCH, 'real-random-inf.txt'), 'BENCH_JSON': os.path.join(BENCH, 'real-random-inf.json')}

    def calls():
        path = state / 'calls.jsonl'
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return env, vllm, calls, tmp_path / 'results'


def local(metrics_url, result_dir, **more):
    return dict({'runner': 'local', 'model': 'tiny-llama', 'tokenizer': '/models/tiny-llama', 'base_url': metrics_url,
                 'num_prompts': 4, 'input_len': 32, 'output_len': 8, 'result_dir': str(result_dir), 'result_name': 'r.json'}, **more)


def test_local_run_builds_the_command_and_parses_text_and_json(bed, metrics_url):
    env, vllm, calls, results = bed
    result = run_module('vllm_bench', local(metrics_url, results), env)
    assert result['_rc'] == 0 and result['changed'], result
    expected = [vllm, 'bench', 'serve', '--backend', 'vllm', '--base-url', metrics_url, '--endpoint', '/v1/completions',
                '--model', 'tiny-llama', '--dataset-name', 'random', '--num-prompts', '4', '--request-rate', 'inf',
                '--burstiness', '1.0', '--seed', '0', '--percentile-metrics', 'ttft,tpot,itl,e2el', '--metric-percentiles',
                '50,90,95,99', '--save-result', '--result-dir', str(results), '--result-filename', 'r.json',
                '--tokenizer', '/models/tiny-llama', '--random-input-len', '32', '--random-output-len', '8']
    assert result['command'] == expected and [c['argv'] for c in calls()] == [expected[1:]]
    bench = result['bench']
    assert bench['completed'] == 4 and bench['failed'] == 0 and bench['total_output_tokens'] == 32
    # The JSON's unrounded values win over the text's (57.31 there).
    assert bench['ttft_p99_ms'] == pytest.approx(57.31, abs=0.005) and bench['output_throughput_tok_s'] == pytest.approx(242.51, abs=0.005)
    assert bench['request_rate_unlimited'] is True and 'detailed_requests' not in bench
    assert result['raw_json'] == str(results / 'r.json')
    assert (results / 'r.json').read_text() == open(os.path.join(BENCH, 'real-random-inf.json')).read()
    assert result['stdout_tail'] == fixture_lines('real-random-inf.txt')[-30:]
    before, after = result['server_metrics']['before'], result['server_metrics']['after']
    assert before.startswith('vllm:scrapes_total ') and int(after.split()[1]) == int(before.split()[1]) + 1
    assert 'gpu' not in result


def test_the_api_key_goes_through_the_environment_only(bed, metrics_url):
    env, dummy, calls, results = bed
    result = run_module('vllm_bench', local(metrics_url, results, api_key='sk-Bench-Secret-7'), env)
    assert result['_rc'] == 0
    assert calls()[0]['key'] == 'sk-Bench-Secret-7' and 'sk-Bench-Secret-7' not in json.dumps(calls()[0]['argv'])
    assert 'sk-Bench-Secret-7' not in json.dumps(result)
    assert Metrics.scrapes[-2:] == ['Bearer sk-Bench-Secret-7'] * 2


def test_exec_runs_inside_the_container_and_copies_the_json_out(bed, tmp_path):
    env, dummy, calls, results = bed
    env = dict(env, BENCH_TXT=os.path.join(BENCH, 'real-save-detailed.txt'), BENCH_JSON=os.path.join(BENCH, 'real-save-detailed.json'))
    result = run_module('vllm_bench', {'runner': 'exec', 'container': 'vllm', 'model': 'm', 'dataset_name': 'sharegpt',
                                       'dataset_path': '/data/sharegpt.json', 'max_concurrency': 8, 'request_rate': '2.5',
                                       'goodput': ['ttft:500', 'tpot:50'], 'save_detailed': True, 'api_key': 'sk-x',
                                       'extra_args': ['--ignore-eos'], 'server_metrics': False, 'result_dir': str(results),
                                       'result_name': 'run.json'}, env)
    assert result['_rc'] == 0, result
    argvs = [c['argv'] for c in calls()]
    assert argvs[0] == ['exec', 'vllm', 'mkdir', '-p', '/tmp/inferops-bench']
    bench = argvs[1]
    assert bench[:5] == ['exec', '-e', 'OPENAI_API_KEY', 'vllm', 'vllm'] and bench[5:7] == ['bench', 'serve']
    assert bench[bench.index('--result-dir') + 1] == '/tmp/inferops-bench' and bench[bench.index('--request-rate') + 1] == '2.5'
    assert bench[bench.index('--dataset-path') + 1] == '/data/sharegpt.json' and '--random-input-len' not in bench
    assert bench[bench.index('--max-concurrency') + 1] == '8'
    assert bench[-5:] == ['--goodput', 'ttft:500', 'tpot:50', '--save-detailed', '--ignore-eos']
    assert argvs[2] == ['cp', 'vllm:/tmp/inferops-bench/run.json', str(results / 'run.json')] and len(argvs) == 3
    assert result['bench']['detailed_requests'] == result['bench']['completed'] + result['bench']['failed'] > 0
    assert 'server_metrics' not in result


def test_container_runner_mounts_what_exists_and_runs_on_the_host_network(bed, tmp_path, metrics_url):
    env, dummy, calls, results = bed
    tokenizer = tmp_path / 'tok'
    tokenizer.mkdir()
    result = run_module('vllm_bench', dict(local(metrics_url, results, tokenizer=str(tokenizer), extra_args=['--x']),
                                           runner='container', engine='docker', image='vllm/vllm-openai:v0.32.0'), env)
    assert result['_rc'] == 0, result
    cmd = result['command']
    assert cmd[1:7] == ['run', '--rm', '--network', 'host', '--entrypoint', 'vllm']
    assert cmd[7:11] == ['-v', '%s:%s' % (results, results), '-v', '%s:%s:ro' % (tokenizer, tokenizer)]
    assert cmd[11:14] == ['vllm/vllm-openai:v0.32.0', 'bench', 'serve'] and cmd[-1] == '--x'
    assert result['bench']['completed'] == 4


def test_the_one_shot_container_gets_the_hf_token_env_and_cache_through_the_environment(bed, tmp_path, metrics_url):
    """A benchmark from a management host with a gated tokenizer (an id, downloaded in the container): the engine gets
    the token, the environment and HF_HOME by name, their values through its own environment; the cache folder is made
    and mounted. The token is on no command line and in no result."""
    env, dummy, calls, results = bed
    cache = tmp_path / 'hf-cache'
    result = run_module('vllm_bench', dict(local(metrics_url, results, tokenizer='meta-llama/Llama-3.1-8B-Instruct'),
                                           runner='container', image='vllm/vllm-openai:v0.32.0', hf_token='hf_Gated-Canary-93',
                                           env={'HF_ENDPOINT': 'https://hf-mirror.example'}, hf_cache_dir=str(cache)), env)
    assert result['_rc'] == 0, result
    call = calls()[0]
    expected = ('hf_Gated-Canary-93', 'https://hf-mirror.example', '/root/.cache/huggingface')
    assert (call['hf_token'], call['hf_endpoint'], call['hf_home']) == expected
    argv = call['argv']
    assert argv[argv.index('vllm/vllm-openai:v0.32.0') - 6:argv.index('vllm/vllm-openai:v0.32.0')] == [
        '-e', 'HF_TOKEN', '-e', 'HF_ENDPOINT', '-e', 'HF_HOME']
    assert '%s:/root/.cache/huggingface' % cache in argv and cache.is_dir()
    assert 'hf_Gated-Canary-93' not in json.dumps(argv) and 'hf_Gated-Canary-93' not in json.dumps(result)


def test_a_failing_benchmark_fails_with_its_last_lines(bed, metrics_url):
    env, dummy, dummy, results = bed
    result = run_module('vllm_bench', local(metrics_url, results), dict(env, BENCH_RC='3'))
    assert result['_rc'] == 1 and result['rc'] == 3 and 'bench' not in result
    assert result['msg'] == 'vllm bench serve failed (rc 3): ' + ' | '.join(fixture_lines('real-random-inf.txt')[-5:])


def test_text_that_does_not_parse_is_listed_and_the_json_still_counts(bed, tmp_path, metrics_url):
    env, dummy, dummy, results = bed
    garbage = tmp_path / 'garbage.txt'
    garbage.write_text('Traceback (most recent call last):\n  something else\n')
    result = run_module('vllm_bench', local(metrics_url, results), dict(env, BENCH_TXT=str(garbage)))
    assert result['_rc'] == 0 and result['bench']['completed'] == 4
    assert result['bench']['unparsed'][0].startswith('text output: ')


def test_no_successful_request_fails_naming_the_server(bed, tmp_path, metrics_url):
    env, dummy, dummy, results = bed
    record = json.load(open(os.path.join(BENCH, 'real-random-inf.json')))
    record.update(completed=0, failed=4)
    broken = tmp_path / 'zero.json'
    broken.write_text(json.dumps(record))
    garbage = tmp_path / 'garbage.txt'
    garbage.write_text('no result block\n')
    result = run_module('vllm_bench', local(metrics_url, results), dict(env, BENCH_JSON=str(broken), BENCH_TXT=str(garbage)))
    assert result['_rc'] == 1 and result['msg'].startswith('no request succeeded (4 failed) against %s' % metrics_url)


def test_a_missing_result_json_fails_naming_it(bed, metrics_url):
    env, dummy, dummy, results = bed
    result = run_module('vllm_bench', local(metrics_url, results), dict(env, BENCH_JSON=''))
    assert result['_rc'] == 1 and 'cannot read the result JSON %s' % (results / 'r.json') in result['msg']


def test_gpu_samples_come_from_the_nvidia_smi_double(bed, tmp_path, metrics_url):
    env, dummy, dummy, results = bed
    smi = fake_executable(str(tmp_path), 'nvidia-smi', 'exec %s %s "$@"\n' % (sys.executable, os.path.join(DOUBLES, 'nvidia_smi_double.py')))
    env = dict(env, BENCH_SLEEP='1', NVIDIA_SMI_DOUBLE_FIXTURES=H100, NVIDIA_SMI_DOUBLE_PROFILE='{"gpus": 2}')
    result = run_module('vllm_bench', local(metrics_url, results, sample_gpu='nvidia-smi', nvidia_smi=smi, sample_interval_ms=100,
                                            server_metrics=False), env)
    assert result['_rc'] == 0, result
    gpu = result['gpu']
    assert gpu['samples'] == len(gpu['series']) >= 2 and gpu['gpus'] == [0, 1] and gpu['errors'] == []
    assert gpu['util_peak_pct'] is not None and gpu['mem_used_peak_mib'] > 0


def test_a_cache_folder_that_cannot_be_made_is_named(bed, tmp_path, metrics_url):
    env, dummy, calls, results = bed
    blocker = tmp_path / 'a-file'
    blocker.write_text('')
    result = run_module('vllm_bench', local(metrics_url, results, hf_cache_dir=str(blocker / 'hf')), env)
    assert result['_rc'] == 1 and result['msg'].startswith('cannot make the folder %s on this host (hf_cache_dir): ' % (blocker / 'hf'))
    assert calls() == []


@pytest.mark.parametrize('bad, words', [
    ({'request_rate': '0'}, 'request_rate=0 must be a positive number or inf'),
    ({'request_rate': 'fast'}, 'request_rate=fast must be a positive number or inf'),
    ({'result_name': '../r.json'}, 'result_name=../r.json must be a file name, not a path'),
    ({'runner': 'exec'}, 'container'),
    ({'runner': 'container'}, 'image'),
    ({'dataset_name': 'sharegpt'}, 'dataset_path'),
    ({'dataset_name': 'sharegpt', 'dataset_path': '/nonexistent/sharegpt.json'}, 'is not a file on this host; runner local'),
])
def test_bad_arguments_fail_before_the_benchmark_runs(bed, metrics_url, bad, words):
    env, dummy, calls, results = bed
    result = run_module('vllm_bench', local(metrics_url, results, **bad), env)
    assert result['_rc'] == 1 and words in result['msg'] and calls() == []


@pytest.mark.parametrize('runner', ['local', 'exec', 'container'])
def test_check_mode_says_the_command_and_runs_and_makes_nothing(bed, metrics_url, runner):
    env, dummy, calls, results = bed
    more = {'local': {}, 'exec': {'container': 'vllm'}, 'container': {'image': 'vllm/vllm-openai:v0.32.0'}}[runner]
    scrapes = len(Metrics.scrapes)
    result = run_module('vllm_bench', local(metrics_url, results, runner=runner, api_key='sk-Check-Secret-3', **more), env,
                        check_mode=True)
    assert result['_rc'] == 0 and result['changed'], result
    assert result['msg'] == 'check mode: would run ' + ' '.join(result['command'])
    assert 'bench' in result['command'] and '--result-filename' in result['command'] and 'bench' not in result
    assert calls() == [] and not results.exists() and len(Metrics.scrapes) == scrapes
    assert 'sk-Check-Secret-3' not in json.dumps(result)


def test_check_mode_names_an_executable_it_does_not_find(bed, metrics_url):
    env, dummy, calls, results = bed
    result = run_module('vllm_bench', local(metrics_url, results, vllm='/nonexistent/vllm'), env, check_mode=True)
    assert result['_rc'] == 0 and result['msg'].endswith('(/nonexistent/vllm not found on this host yet)'), result
    assert calls() == []
