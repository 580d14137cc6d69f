"""The vLLM log reader, on logs the real vLLM 0.32 CPU server wrote here (tests/unit/fixtures/vllm)."""
import os

from ansible_collections.inferops.gpu_inference.plugins.module_utils.vllm_log import (
    last_error, read_from, read_tail, stage_of, stages_of)

FIX = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'vllm')


def lines(name):
    with open(os.path.join(FIX, name)) as handle:
        return handle.read().splitlines()


def test_stages_follow_the_real_startup():
    log = lines('serve-startup.log')
    seen = []
    for end in range(1, len(log) + 1):
        stage = stage_of(log[:end])
        if stage and (not seen or seen[-1] != stage):
            seen.append(stage)
    assert seen[0] == 'starting'
    assert seen[-1] == 'startup complete'
    assert 'weights loaded' in seen and 'starting API server' in seen
    assert 'failed' not in seen  # its ulimit warning quotes "OSError: [Errno 24]" and must not count


def test_the_stages_of_a_real_gpu_start():
    # vLLM 0.26.0 on an H100 (tests/device/vllm_on_gpu.sh, process runtime under supervisord,
    # cold compile cache): torch.compile, KV cache sizing and CUDA graph capture all show.
    log = lines('h100-vllm-0.26.0-startup.log')
    assert stages_of(log) == ['starting', 'loading weights', 'weights loaded', 'compiling', 'profiling memory',
                              'capturing graphs', 'starting API server', 'startup complete']
    assert last_error(log) is None  # its ulimit warning and NCCL socket warning are not failures


def test_a_warning_that_quotes_an_error_is_not_a_failure():
    assert stage_of(['WARNING 11-22 [x.py:1] this can cause errors like `OSError: [Errno 24] Too many open files`']) is None


def test_a_traceback_is_a_failure_and_its_cause_is_read():
    log = lines('serve-max-model-len-too-big.log')
    assert stage_of(log) == 'failed'
    error = last_error(log)
    assert error.startswith('pydantic_core._pydantic_core.ValidationError: 1 validation error for ModelConfig')
    assert 'max_model_len (999999) is greater than the derived max_model_len' in error


def test_exit_noise_after_the_cause_does_not_hide_it():
    # Seen on the supervisord pod: the failing server's exit printed a second traceback.
    noise = ['Traceback (most recent call last):', '  File "/usr/lib/python3.11/logging/__init__.py", line 1113, in emit',
             "RuntimeError: reentrant call inside <_io.BufferedWriter name='<stdout>'>"]
    log = lines('serve-max-model-len-too-big.log') + noise
    assert 'max_model_len (999999) is greater than the derived max_model_len' in last_error(log)
    assert last_error(noise).startswith('RuntimeError: reentrant call inside')


def test_no_error_in_a_healthy_log():
    assert last_error(lines('serve-startup.log')) is None


def test_read_from_offset_and_tail(tmp_path):
    path = tmp_path / 'server.log'
    path.write_text('old line\n')
    offset = path.stat().st_size
    with open(path, 'a') as handle:
        handle.write('new 1\nnew 2\n')
    text, new_offset = read_from(str(path), offset)
    assert text.splitlines() == ['new 1', 'new 2'] and new_offset == path.stat().st_size
    assert read_from(str(path), 10 ** 6)[0].startswith('old line')  # truncated file: read from the start
    assert read_tail(str(path), lines=2) == ['new 1', 'new 2']
    assert read_tail(str(tmp_path / 'absent')) == []


def test_read_from_keeps_only_the_last_limit_bytes_of_a_long_log(tmp_path):
    path = tmp_path / 'server.log'
    path.write_text('x' * 5000 + '\nlast stage line\n')
    text, size = read_from(str(path), 0, limit=100)
    assert len(text) == 100 and text.endswith('last stage line\n') and size == path.stat().st_size
