#!/usr/bin/env python
"""TEST DOUBLE for the Hugging Face hub (a site mirror's HF_ENDPOINT): serves model folders over the hub's HTTP API.

The model hub cannot be reached from the bed; this replays the parts of its API that huggingface_hub (2.4, in the vLLM
image) and the collection's hf_model_cache call, with the hub's own answers:

    GET  /api/models/<org>/<name>/revision/<revision>   {"id", "sha": the commit, "siblings": [{"rfilename"}]}
    GET  /api/models/<org>/<name>/tree/<revision>?recursive=true
         [{"type": "file", "oid": git blob sha1, "size", "path", "lfs": {"oid": sha256, "size", "pointerSize"}}, and
         {"type": "directory", ...}], paged with a Link: <...>; rel="next" header (--page-size)
    HEAD/GET /<org>/<name>/resolve/<revision>/<path>     X-Repo-Commit, ETag (the git sha1), Content-Length; a large
         file (weights) is redirected, as the hub redirects to its CDN, to http://localhost:<port>/cdn/<sha256>, which
         answers with X-Linked-Etag and X-Linked-Size on the first answer and refuses a request that carries an
         Authorization header (as a presigned storage URL does)

The commit is a hash of the folder's names, sizes and hashes; revision "main" and the commit both name it.

    hf_hub_double.py --repo org/name=FOLDER [--repo ...] [--port 18960] [--token T | --token-file F] [--page-size N]
                     [--corrupt PATH] [--extra-entry JSON] [--log FILE]

--token: every request must carry "Authorization: Bearer T" (a gated model), else 401.
--corrupt PATH: serve that file with its first byte changed (the listing keeps the true hash).
--extra-entry: a JSON object added to each tree listing (a hostile mirror's answer).
--log: one line per request, "METHOD PATH auth=yes|no" (never the token).
"""
import argparse
import hashlib
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

LFS_SUFFIXES = ('.safetensors', '.bin', '.gguf', '.pt', '.pth', '.h5', '.msgpack', '.onnx')


def _file_entry(folder, path):
    with open(os.path.join(folder, path), 'rb') as handle:
        data = handle.read()
    entry = {'type': 'file', 'oid': hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest(), 'size': len(data), 'path': path}
    if path.endswith(LFS_SUFFIXES) or len(data) > 10 * 1024 * 1024:
        # The hub's tree lists the pointer's git oid; the content's is its sha256.
        pointer = ('version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n'
                   % (hashlib.sha256(data).hexdigest(), len(data))).encode()
        entry['oid'] = hashlib.sha1(b'blob %d\0' % len(pointer) + pointer).hexdigest()
        entry['lfs'] = {'oid': hashlib.sha256(data).hexdigest(), 'size': len(data), 'pointerSize': len(pointer)}
    return entry


class Repo:
    def __init__(self, repo_id, folder):
        self.id, self.folder = repo_id, os.path.abspath(folder)
        paths = []
        for root, dirs, files in os.walk(self.folder):
            dirs.sort()
            paths += [os.path.relpath(os.path.join(root, f), self.folder) for f in sorted(files)]
        self.files = [_file_entry(self.folder, p) for p in paths]
        dirs = sorted({os.path.dirname(p) for p in paths if os.path.dirname(p)})
        self.tree = [{'type': 'directory', 'oid': hashlib.sha1(d.encode()).hexdigest(), 'size': 0, 'path': d} for d in dirs] + self.files
        self.commit = hashlib.sha1(json.dumps(self.files, sort_keys=True).encode()).hexdigest()
        self.by_path = dict((f['path'], f) for f in self.files)
        self.by_sha256 = dict((f['lfs']['oid'], f) for f in self.files if 'lfs' in f)


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args):
            pass

        def _log(self):
            if state.log:
                with state.lock, open(state.log, 'a') as handle:
                    handle.write('%s %s auth=%s\n' % (self.command, self.path, 'yes' if self.headers.get('Authorization') else 'no'))

        def _send(self, status, body=b'', headers=None, head=False):
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
                headers = dict({'Content-Type': 'application/json'}, **(headers or {}))
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def _error(self, status, message, head=False):
            self._send(status, {'error': message}, {'X-Error-Message': message}, head)

        def _authorised(self, head=False):
            if state.token and self.headers.get('Authorization') != 'Bearer ' + state.token:
                self._error(401, 'Access to model is restricted. You must have access to it and be authenticated.', head)
                return False
            return True

        def _repo(self, parts):
            """The repo <org>/<name> names; None after a 404 answer."""
            repo = state.repos.get('/'.join(parts[:2]))
            if repo is None:
                self._error(404, 'Repository not found')
                return None
            return repo

        def do_HEAD(self):
            self._resolve(head=True)

        def do_GET(self):
            url = urlsplit(self.path)
            parts = [unquote(p) for p in url.path.strip('/').split('/')]
            if parts[:1] == ['cdn']:
                return self._cdn(parts)
            if parts[:2] == ['api', 'models']:
                self._log()
                if not self._authorised():
                    return
                return self._api(parts[2:], parse_qs(url.query))
            self._resolve()

        def _api(self, parts, query):
            repo = self._repo(parts)
            if repo is None:
                return
            if len(parts) < 4 or parts[2] not in ('revision', 'tree'):
                return self._error(404, 'not an endpoint of this double')
            revision = unquote(parts[3])
            if revision not in ('main', repo.commit):
                return self._error(404, 'Invalid rev id: %s' % revision)
            if parts[2] == 'revision':
                return self._send(200, {'id': repo.id, 'sha': repo.commit, 'siblings': [{'rfilename': f['path']} for f in repo.files]})
            entries = repo.tree + state.extra
            start = int(query.get('cursor', ['0'])[0])
            page = entries[start:start + state.page_size] if state.page_size else entries
            headers = {}
            if state.page_size and start + state.page_size < len(entries):
                # Absolute, as the hub sends it (huggingface_hub follows it as it is).
                headers['Link'] = '<http://%s/api/models/%s/tree/%s?recursive=true&expand=false&cursor=%d>; rel="next"' % (
                    self.headers.get('Host'), repo.id, quote(revision, safe=''), start + state.page_size)
            self._send(200, page, headers)

        def _resolve(self, head=False):
            self._log()
            parts = [unquote(p) for p in urlsplit(self.path).path.strip('/').split('/')]
            if not self._authorised(head):
                return
            repo = state.repos.get('/'.join(parts[:2]))
            if repo is None or len(parts) < 5 or parts[2] != 'resolve':
                return self._error(404, 'Repository not found', head)
            if parts[3] not in ('main', repo.commit):
                return self._error(404, 'Invalid rev id: %s' % parts[3], head)
            entry = repo.by_path.get('/'.join(parts[4:]))
            if entry is None:
                return self._error(404, 'Entry not found', head)
            headers = {'X-Repo-Commit': repo.commit, 'ETag': '"%s"' % entry['oid']}
            if 'lfs' in entry:
                headers.update({'X-Linked-Etag': '"%s"' % entry['lfs']['oid'], 'X-Linked-Size': str(entry['size']),
                                'Location': 'http://localhost:%d/cdn/%s' % (state.port, entry['lfs']['oid'])})
                return self._send(302, b'', headers, head)
            self._send(200, self._data(repo, entry), headers, head)

        def _cdn(self, parts):
            self._log()
            if self.headers.get('Authorization'):
                return self._error(400, 'Only one auth mechanism allowed; a presigned URL takes no Authorization header')
            for repo in state.repos.values():
                entry = repo.by_sha256.get(parts[-1])
                if entry is not None:
                    return self._send(200, self._data(repo, entry))
            self._error(404, 'NoSuchKey')

        def _data(self, repo, entry):
            with open(os.path.join(repo.folder, entry['path']), 'rb') as handle:
                data = handle.read()
            if entry['path'] in state.corrupt and data:
                data = bytes([data[0] ^ 0xff]) + data[1:]
            return data

    return Handler


class State:
    def __init__(self, repos, token='', page_size=0, corrupt=(), extra=(), log=''):
        self.repos = dict((r.id, r) for r in repos)
        self.token, self.page_size, self.corrupt, self.extra, self.log = token, page_size, set(corrupt), list(extra), log
        self.lock = threading.Lock()
        self.port = 0


def make_server(repos, port=0, bind='127.0.0.1', **options):
    """repos: {org/name: folder}. The server's state (its port, its repos' commits) is server.state."""
    state = State([Repo(k, v) for k, v in repos.items()], **options)
    server = ThreadingHTTPServer((bind, port), make_handler(state))
    state.port = server.server_address[1]
    server.state = state
    return server


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repo', action='append', required=True, help='org/name=FOLDER')
    parser.add_argument('--port', type=int, default=18960)
    parser.add_argument('--bind', default='127.0.0.1')
    parser.add_argument('--token', default='')
    parser.add_argument('--token-file', default='', help='the token, read from a file (kept out of process lists)')
    parser.add_argument('--page-size', type=int, default=0)
    parser.add_argument('--corrupt', action='append', default=[])
    parser.add_argument('--extra-entry', action='append', default=[], type=json.loads)
    parser.add_argument('--log', default='')
    args = parser.parse_args()
    repos = dict(r.split('=', 1) for r in args.repo)
    if args.token_file:
        with open(args.token_file) as handle:
            args.token = handle.read().strip()
    server = make_server(repos, args.port, args.bind, token=args.token, page_size=args.page_size, corrupt=args.corrupt,
                         extra=args.extra_entry, log=args.log)
    for repo in server.state.repos.values():
        print('%s %s' % (repo.id, repo.commit), flush=True)
    sys.stdout.flush()
    server.serve_forever()


if __name__ == '__main__':
    main()
