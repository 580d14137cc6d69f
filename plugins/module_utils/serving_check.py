# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Is a vLLM server serving? Forward progress, not a listening socket.

A hung engine (a wedged GPU, a stuck collective; on the bed, its EngineCore process stopped)
leaves vLLM's API server answering ``/health`` and ``/v1/models`` in milliseconds while every
completion hangs, and the engine's gauges in ``/metrics`` frozen at their last values. So:

* busy (the gauges say requests are running or waiting): the token counters
  (``vllm:prompt_tokens_total`` + ``vllm:generation_tokens_total``) must advance within
  ``stall_after`` seconds;
* idle: a one-token completion must answer within ``probe_timeout`` seconds;
* and, where the node's dcgm-exporter answers (``gpu_url``), no GPU fault: a fatal Xid as the GPU's last
  (``DCGM_FI_DEV_XID_ERRORS``), an uncorrectable ECC error (``DCGM_FI_DEV_ECC_DBE_VOL_TOTAL``) or a failed row
  remapping (``DCGM_FI_DEV_ROW_REMAP_FAILURE``). A GPU fault leaves the engine serving for a while, or wrong.

One mechanism, two callers: the module ``vllm_health`` (a playbook's question, on the node)
and the gateway's HAProxy external check, which runs this file as a program (``main``) and keeps
what it saw between its runs in a small state file per server. Standard library only: it runs
on the node under Ansible, and on a gateway host with its system Python.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket
import sys
import time

RUNNING = 'vllm:num_requests_running'
WAITING = 'vllm:num_requests_waiting'
TOKENS = ('vllm:prompt_tokens_total', 'vllm:generation_tokens_total')
# What a check concludes. serving: progressing (busy, tokens advancing) or idle (the probe answered).
STATES = ('progressing', 'idle', 'stalled', 'unresponsive', 'down', 'gpu_fault')
SERVING = ('progressing', 'idle')
DEFAULTS = {'stall_after': 7.0, 'probe_timeout': 5.0, 'probe_every': 2.0, 'timeout': 5.0}
# The Xids after which a GPU needs a reset or a replacement (module_utils/gpu_health.py's DEFAULT_FAIL_XIDS, held
# equal by a unit test: this file is installed alone on the gateway).
FAIL_XIDS = (48, 63, 64, 74, 79, 92, 94, 95, 119, 120, 140)
# dcgm-exporter: how long its answer may take, and how long an exporter that did not answer is left alone (a node
# without one, a port the gateway cannot reach: not a fault, and not worth a timeout at every check).
GPU_TIMEOUT, GPU_RETRY_AFTER = 1.0, 60.0


def parse_metrics(text):
    """The gauges and counters the check reads, summed over their labels (one engine or several)."""
    sums = {RUNNING: 0.0, WAITING: 0.0}
    sums.update((name, 0.0) for name in TOKENS)
    found = set()
    for line in text.splitlines():
        if not line.startswith('vllm:'):
            continue
        name = line.split('{', 1)[0].split(' ', 1)[0]
        if name in sums:
            try:
                sums[name] += float(line.rsplit(' ', 1)[1])
            except (IndexError, ValueError):
                continue
            found.add(name)
    missing = [name for name in (RUNNING, WAITING) + TOKENS if name not in found]
    if missing:
        raise ValueError('/metrics has no %s: not a vLLM server, or its metrics are off' % ', '.join(missing))
    return {'running': sums[RUNNING], 'waiting': sums[WAITING], 'tokens': sum(sums[n] for n in TOKENS)}


def parse_dcgm(text):
    """The GPU faults in dcgm-exporter's metrics text: a list of sentences (empty: none)."""
    faults = []
    for line in text.splitlines():
        if not line.startswith('DCGM_FI_DEV_'):
            continue
        name = line.split('{', 1)[0].split(' ', 1)[0]
        try:
            value = float(line.rsplit(' ', 1)[1])
        except (IndexError, ValueError):
            continue
        gpu = line.split('gpu="', 1)[1].split('"', 1)[0] if 'gpu="' in line else '?'
        if name == 'DCGM_FI_DEV_XID_ERRORS' and int(value) in FAIL_XIDS:
            faults.append('GPU %s: Xid %d' % (gpu, value))
        elif name == 'DCGM_FI_DEV_ECC_DBE_VOL_TOTAL' and value > 0:
            faults.append('GPU %s: %d uncorrectable ECC error(s)' % (gpu, value))
        elif name == 'DCGM_FI_DEV_ROW_REMAP_FAILURE' and value > 0:
            faults.append('GPU %s: row remapping failed' % gpu)
    return faults


def _gpu_check(gpu_url, kept, now):
    """(faults or None when not read, what to keep): dcgm-exporter read, or left alone for GPU_RETRY_AFTER."""
    if not gpu_url or now < (kept.get('gpu_retry_at') or 0):
        return None, kept
    try:
        return parse_dcgm(_request(gpu_url, timeout=GPU_TIMEOUT)), dict(kept, gpu_retry_at=None)
    except Exception:  # pylint: disable=broad-except
        return None, dict(kept, gpu_retry_at=now + GPU_RETRY_AFTER)


def _request(url, api_key=None, data=None, timeout=5.0):
    """One HTTP/1.0 request straight to the node (never through a proxy), its body if the status is 200.

    The socket module only, not urllib: HAProxy starts this program once per check and server, and
    urllib's imports cost three times what the check itself does (benchmarks/serving_check_cost.py)."""
    rest = url.split('://', 1)[1]
    netloc, path = (rest.split('/', 1) + [''])[:2]
    if netloc.startswith('['):  # [IPv6]:port
        host, port = netloc[1:].split(']', 1)
        port = port.lstrip(':')
    else:
        host, port = (netloc.split(':', 1) + [''])[:2]
    body = json.dumps(data).encode() if data is not None else b''
    head = ['%s /%s HTTP/1.0' % ('POST' if data is not None else 'GET', path), 'Host: %s' % netloc, 'Connection: close']
    if data is not None:
        head += ['Content-Type: application/json', 'Content-Length: %d' % len(body)]
    if api_key:
        head.append('Authorization: Bearer ' + api_key)
    if any('\r' in line or '\n' in line for line in head):  # a key or an address would add its own header lines
        raise ValueError('a line break in the request to %s (the API key or the address): refused' % netloc.replace('\n', ' '))
    deadline = time.time() + timeout
    conn = socket.create_connection((host, int(port or 80)), timeout=timeout)
    try:
        conn.sendall(('\r\n'.join(head) + '\r\n\r\n').encode('latin-1') + body)
        chunks = []
        while True:
            conn.settimeout(max(0.001, deadline - time.time()))
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        conn.close()
    answer = b''.join(chunks)
    header, content = (answer.split(b'\r\n\r\n', 1) + [b''])[:2]
    status = header.split(b'\r\n', 1)[0].split(b' ', 2)
    if len(status) < 2 or not status[1].isdigit():
        raise IOError('not an HTTP answer: %r' % answer[:80])
    if int(status[1]) != 200:
        raise IOError('HTTP %s: %s' % (status[1].decode(), content[:200].decode('utf-8', 'replace')))
    return content.decode('utf-8', 'replace')


def sample(base_url, timeout=5.0):
    return parse_metrics(_request(base_url.rstrip('/') + '/metrics', timeout=timeout))


def probe(base_url, api_key=None, model=None, timeout=10.0):
    """A one-token completion: (True, seconds, None) or (False, seconds, why)."""
    start = time.time()
    try:
        if not model:
            models = json.loads(_request(base_url.rstrip('/') + '/v1/models', api_key, timeout=timeout))
            model = models['data'][0]['id']
        answer = json.loads(_request(base_url.rstrip('/') + '/v1/completions', api_key, timeout=timeout,
                                     data={'model': model, 'prompt': 'ping', 'max_tokens': 1, 'temperature': 0}))
        if not answer.get('choices'):
            return False, time.time() - start, 'the completion had no choices'
        return True, time.time() - start, None
    except Exception as exc:  # pylint: disable=broad-except
        return False, time.time() - start, _why(exc, timeout)


def _why(exc, timeout):
    text = str(getattr(exc, 'reason', None) or exc)
    if 'timed out' in text.lower() or exc.__class__.__name__ == 'timeout':
        return 'no answer within %gs' % timeout
    return text


def judge(previous, metrics, now, stall_after):
    """Busy case: the state to keep and whether the tokens stalled. previous: {tokens, since}."""
    if previous is None or metrics['tokens'] != previous.get('tokens'):
        return {'tokens': metrics['tokens'], 'since': now}, False
    return previous, now - previous['since'] > stall_after


def result(state, reason, metrics=None, probe_seconds=None):
    out = {'state': state, 'serving': state in SERVING, 'reason': reason}
    if metrics:
        out.update(running=metrics['running'], waiting=metrics['waiting'], tokens=metrics['tokens'])
    if probe_seconds is not None:
        out['probe_seconds'] = round(probe_seconds, 3)
    return out


def check_once(base_url, kept, now, api_key=None, model=None, stall_after=7.0, probe_timeout=5.0,
               probe_every=2.0, timeout=5.0, gpu_url=None):
    """One look, as a periodic checker takes it: (result, what to keep for the next look).

    Kept between looks: ``busy`` (the token count and since when it stands), ``probed`` (when a probe last
    answered) and ``failing`` (the last failed verdict and the token count then). A failed verdict stands,
    without a new probe, while the tokens stand still and for less than ``probe_every`` seconds: a checker
    that needs two failures in a row (HAProxy's fall 2) gets the second at once, not one probe later.

    ``gpu_url``: the node's dcgm-exporter; a GPU fault it reports fails the check before anything else is asked."""
    faults, kept = _gpu_check(gpu_url, kept, now)
    if faults:
        return result('gpu_fault', '; '.join(faults)), kept
    try:
        metrics = sample(base_url, timeout)
    except Exception as exc:  # pylint: disable=broad-except
        return result('down', '/metrics did not answer: %s' % _why(exc, timeout)), dict(kept, busy=None, failing=None)
    failing = kept.get('failing')
    if failing and metrics['tokens'] == failing['tokens'] and now - failing['at'] < probe_every:
        return result(failing['state'], 'still: %s' % failing['reason'], metrics), kept
    kept = dict(kept, failing=None)
    if metrics['running'] or metrics['waiting']:
        busy, stalled = judge(kept.get('busy'), metrics, now, stall_after)
        kept = dict(kept, busy=busy)
        if stalled:
            out = result('stalled', '%d requests running, %d waiting, and no token produced for %.0fs (bound %gs)' % (
                metrics['running'], metrics['waiting'], now - busy['since'], stall_after), metrics)
            return out, dict(kept, failing=_failing(out, metrics, now))
        return result('progressing', 'tokens advancing', metrics), kept
    kept = dict(kept, busy=None)
    if kept.get('probed') is not None and now - kept['probed'] < probe_every:
        return result('idle', 'idle; answered a probe %.0fs ago' % (now - kept['probed']), metrics), kept
    ok, seconds, why = probe(base_url, api_key, model, probe_timeout)
    if ok:
        return result('idle', 'idle; a one-token completion answered in %.2fs' % seconds, metrics, seconds), dict(kept, probed=time.time())
    # No answer: a hung engine, or a slow one (other requests came in meanwhile). Tokens produced while the probe
    # waited say the engine works.
    try:
        after = sample(base_url, timeout)
    except Exception:  # pylint: disable=broad-except
        after = metrics
    if after['tokens'] != metrics['tokens']:
        return result('progressing', 'a one-token completion failed (%s), but the engine produced %d tokens meanwhile' % (
            why, after['tokens'] - metrics['tokens']), after, seconds), dict(kept, probed=None)
    out = result('unresponsive', 'idle, and a one-token completion failed: %s' % why, after, seconds)
    return out, dict(kept, probed=None, failing=_failing(out, after, time.time()))


def _failing(out, metrics, now):
    return {'state': out['state'], 'reason': out['reason'], 'tokens': metrics['tokens'], 'at': now}


def check(base_url, api_key=None, model=None, stall_after=7.0, probe_timeout=5.0, timeout=5.0, interval=1.0,
          clock=time.time, sleep=time.sleep):
    """A playbook's question, answered on the spot: looks until the answer is known.

    Busy: samples every `interval` seconds until the tokens advance (progressing) or `stall_after`
    seconds pass without (stalled). Idle: one probe."""
    kept, first = {}, None
    while True:
        out, kept = check_once(base_url, kept, clock(), api_key, model, stall_after, probe_timeout, 0, timeout)
        if out['state'] != 'progressing' or kept.get('busy') is None:  # known, or tokens came while a probe waited
            return out
        if first is None:
            first = kept['busy']['since']
        elif kept['busy']['since'] != first:  # the tokens advanced since the first look
            return out
        sleep(interval)


def main(argv=None, environ=None):
    """HAProxy's external check: ``<proxy addr> <proxy port> <server addr> <server port>``.

    Exit 0 when the server is serving, 1 when not (the reason on standard error, in HAProxy's log).
    Settings from the JSON file in $INFEROPS_SERVING_CHECK_CONFIG (the gateway role writes it,
    readable by root only: it holds the servers' API key): ``api_keys`` and ``gpu_urls`` (dcgm-exporter's) by
    server name, the bounds of DEFAULTS; state in its ``state_dir``."""
    argv = sys.argv[1:] if argv is None else argv
    environ = os.environ if environ is None else environ
    with open(environ.get('INFEROPS_SERVING_CHECK_CONFIG', '/etc/haproxy/inferops-serving-check.json')) as handle:
        config = json.load(handle)
    address, port = argv[2], argv[3]
    host = '[%s]' % address if ':' in address else address
    name = environ.get('HAPROXY_SERVER_NAME') or '%s_%s' % (address, port)
    state_file = os.path.join(config.get('state_dir', '/run/inferops-serving-check'), '%s.json' % name.replace('/', '_'))
    try:
        with open(state_file) as handle:
            kept = json.load(handle)
    except (IOError, OSError, ValueError):
        kept = {}
    settings = dict(DEFAULTS)
    settings.update((k, float(config[k])) for k in DEFAULTS if config.get(k) is not None)
    out, kept = check_once('http://%s:%s' % (host, port), kept, time.time(), (config.get('api_keys') or {}).get(name) or None, None,
                           gpu_url=(config.get('gpu_urls') or {}).get(name), **settings)
    tmp = state_file + '.tmp'
    with open(tmp, 'w') as handle:
        json.dump(kept, handle)
    os.rename(tmp, state_file)
    if not out['serving']:
        line = '%s %s %s: %s\n' % (time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), name, out['state'], out['reason'])
        sys.stderr.write(line)
        _keep_failure(os.path.join(os.path.dirname(state_file), 'failures.log'), line)
        return 1
    return 0


def _keep_failure(path, line, limit=65536):
    """Each failed verdict, with its reason, in the state folder (HAProxy logs only that the check failed): why a node
    left the rotation. The newer half is kept when the file passes ``limit`` bytes."""
    try:
        if os.path.exists(path) and os.path.getsize(path) > limit:
            with open(path) as handle:
                kept = handle.read()[-limit // 2:]
            with open(path, 'w') as handle:
                handle.write(kept[kept.find('\n') + 1:])
        with open(path, 'a') as handle:
            handle.write(line)
    except (IOError, OSError):
        pass


if __name__ == '__main__':
    raise SystemExit(main())
