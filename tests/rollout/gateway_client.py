#!/usr/bin/env python3
"""A real client of the gateway, for the rollout scenario: counts the requests lost.

Sends /v1/completions requests through the gateway (--workers at a time, each pausing
--pause seconds between requests) from start until the stop file appears, and writes a JSON summary: requests sent, answered,
lost (any failure the client saw: an HTTP error, a refused or dropped connection, a timeout,
an answer without tokens), with the first errors and their times. Standard library only.

    gateway_client.py --url http://127.0.0.1:18210 --model tiny-llama --stop /tmp/stop --out summary.json
"""

import argparse
import json
import os
import threading
import time
import urllib.error
import urllib.request


def one_request(url, model, timeout, api_key=''):
    body = json.dumps({'model': model, 'prompt': 'The fleet is', 'max_tokens': 4, 'temperature': 0}).encode()
    headers = {'Content-Type': 'application/json'}
    if api_key:
        headers['Authorization'] = 'Bearer ' + api_key
    req = urllib.request.Request(url + '/v1/completions', data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            answer = json.loads(resp.read().decode())
        if not answer.get('choices') or not answer['choices'][0].get('text') and answer.get('usage', {}).get('completion_tokens', 0) == 0:
            return 'answer without tokens: %s' % json.dumps(answer)[:200]
        return None
    except urllib.error.HTTPError as exc:
        return 'HTTP %d: %s' % (exc.code, exc.read()[:200].decode(errors='replace'))
    except Exception as exc:  # noqa: BLE001 - every failure is a lost request
        return '%s: %s' % (type(exc).__name__, exc)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--url', required=True)
    ap.add_argument('--model', required=True)
    ap.add_argument('--stop', required=True, help='stop once this file exists')
    ap.add_argument('--out', required=True, help='JSON summary, rewritten every few seconds')
    ap.add_argument('--workers', type=int, default=2)
    ap.add_argument('--pause', type=float, default=0.2)
    ap.add_argument('--timeout', type=float, default=60)
    ap.add_argument('--api-key-env', default='', help='the environment variable holding the API key (never on the command line)')
    args = ap.parse_args()
    api_key = os.environ.get(args.api_key_env, '') if args.api_key_env else ''

    lock = threading.Lock()
    stats = {'url': args.url, 'started': time.time(), 'sent': 0, 'answered': 0, 'lost': 0, 'errors': [], 'done': False}

    def write():
        with lock:
            snapshot = dict(stats, errors=list(stats['errors']))
        snapshot['elapsed_s'] = round(time.time() - snapshot['started'], 1)
        with open(args.out + '.tmp', 'w') as handle:
            json.dump(snapshot, handle, indent=2)
        os.replace(args.out + '.tmp', args.out)

    def worker():
        while not os.path.exists(args.stop):
            error = one_request(args.url, args.model, args.timeout, api_key)
            with lock:
                stats['sent'] += 1
                if error is None:
                    stats['answered'] += 1
                else:
                    stats['lost'] += 1
                    if len(stats['errors']) < 50:
                        stats['errors'].append({'at': round(time.time(), 1), 'error': error})
            time.sleep(args.pause)

    threads = [threading.Thread(target=worker, daemon=True) for dummy in range(args.workers)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        write()
        time.sleep(2)
    stats['done'] = True
    write()


if __name__ == '__main__':
    main()
