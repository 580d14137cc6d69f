# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A model of the Hugging Face hub (or a site mirror of it: HF_ENDPOINT) put into a node's hub cache as huggingface_hub
lays it out, so that vLLM finds it there at its start (offline, or without a download):

    <hf_home>/hub/models--<org>--<name>/blobs/<etag>          the file's bytes, named by its hash
    <hf_home>/hub/models--<org>--<name>/snapshots/<commit>/<path>  a relative link to its blob
    <hf_home>/hub/models--<org>--<name>/refs/<revision>         the commit a branch or tag named when it was staged

The hub's answers are input: the commit must be a commit id, every file's path relative and inside the snapshot, its
size a number and its hash a hash, before anything is written. Each file downloaded is checked against the listing:
its size, and its hash (sha256 for the hub's large files, git's blob sha1 for the rest), and only then put in place.
Standard library only (module_utils.http_util): it runs on every node of a fleet."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re

from ansible.module_utils.six.moves.urllib.parse import quote, urljoin, urlsplit

from ansible_collections.inferops.gpu_inference.plugins.module_utils import addresses, http_util
from ansible_collections.inferops.gpu_inference.plugins.module_utils.model_files import MAX_FILES
from ansible_collections.inferops.gpu_inference.plugins.module_utils.release import nearest_existing

DEFAULT_ENDPOINT = 'https://huggingface.co'
COMMIT_RE = re.compile(r'^[0-9a-f]{40}\Z')
SHA256_RE = re.compile(r'^[0-9a-f]{64}\Z')
MODEL_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?\Z')
# A branch, a tag or a commit: what `git check-ref-format` allows, without .. and without a leading or doubled /.
REVISION_RE = re.compile(r'^(?!.*\.\.)(?!.*//)[A-Za-z0-9][A-Za-z0-9._/-]{0,199}(?<!/)\Z')
PATH_PART_RE = re.compile(r'^[^\x00-\x1f\x7f/\\]+\Z')
ENDPOINT_PATH_RE = re.compile(r'^[A-Za-z0-9._~%/-]*\Z')
CHUNK = 1024 * 1024
MAX_REDIRECTS = 5


class HubError(Exception):
    """What went wrong, for the message; reason: a word for the role (refused, missing, bad_answer, unreachable,
    mismatch, disk)."""

    def __init__(self, message, reason):
        super(HubError, self).__init__(message)
        self.reason = reason


def repo_folder(hf_home, model_id):
    """The model's folder in the hub cache under hf_home."""
    return os.path.join(hf_home, 'hub', 'models--' + model_id.replace('/', '--'))


def cached_commit(hf_home, model_id, revision=''):
    """The commit the cache holds for revision (a commit id, or the branch or tag a staging recorded in refs/), or ''."""
    revision = revision or 'main'
    if COMMIT_RE.match(revision):
        return revision
    try:
        with open(os.path.join(repo_folder(hf_home, model_id), 'refs', revision)) as handle:
            commit = handle.read(100).strip()
    except (OSError, IOError):
        return ''
    return commit if COMMIT_RE.match(commit) else ''


WEIGHTS = ('.safetensors', '.bin', '.gguf', '.pt')


def cached_snapshot(hf_home, model_id, revision=''):
    """The snapshot folder of model_id at revision in the hub cache under hf_home, if it holds weights, else ''. Without
    a revision: main's, or (a cache filled another way, without refs/main) the newest snapshot with weights."""
    snapshots = os.path.join(repo_folder(hf_home, model_id), 'snapshots')
    commit = cached_commit(hf_home, model_id, revision)
    if commit or revision:
        found = [os.path.join(snapshots, commit)] if commit else []
    else:
        found = [os.path.join(snapshots, n) for n in os.listdir(snapshots)] if os.path.isdir(snapshots) else []
    found = [f for f in found if os.path.isdir(f) and any(name.endswith(WEIGHTS) for name in os.listdir(f))]
    return max(found, key=os.path.getmtime) if found else ''


def shown(endpoint):
    """The endpoint as messages show it: a user and password in it masked."""
    return re.sub(r'(?<=://)[^/@]*@', '***@', endpoint or '')


def endpoint_problem(endpoint):
    """Why endpoint is not a hub's address (http(s)://host[:port][/path], no user, query or fragment), or ''."""
    try:
        http_util.split(endpoint)
    except ValueError:
        return 'the URL must be http(s)://host[:port][/path], not %s' % json.dumps(shown(endpoint))
    parts = urlsplit(endpoint)
    if parts.username or parts.password or parts.query or parts.fragment or '@' in parts.netloc:
        return 'the URL must be http(s)://host[:port][/path], without a user, a query or a fragment'
    # It becomes the server's HF_ENDPOINT, written into unit and program files: one token, nothing more.
    # (urlsplit drops tabs and newlines before it parses: the whole value is looked at.)
    if (re.search(r'[\s\x00-\x1f\x7f]', endpoint) or not addresses.is_address(parts.hostname)
            or not ENDPOINT_PATH_RE.match(parts.path)):
        return ('the URL must be http(s)://host[:port][/path] with %s and a path of letters, digits and . _ ~ %% / - '
                '(no whitespace or control characters)' % addresses.HOST_NAME_RULE)
    return ''


def valid_path(path):
    """Whether a file's path from a listing stays inside the snapshot: relative, no empty, . or .. parts, no control
    characters or backslashes, at most 1024 characters."""
    if not isinstance(path, str) or not path or len(path) > 1024:
        return False
    parts = path.split('/')
    return all(p not in ('.', '..') and PATH_PART_RE.match(p) for p in parts)


def files_of(listing, model_id):
    """The files of a tree listing (the hub's /api/models/<id>/tree answer, recursive), checked:
    [{'path', 'size', 'blob': the name of its blob (its hash), 'algorithm': 'sha256' or 'git-sha1'}]."""
    if not isinstance(listing, list):
        raise HubError('the hub listed the files of %s as %s, not a list' % (model_id, type(listing).__name__), 'bad_answer')
    out, seen = [], set()
    for entry in listing:
        if not isinstance(entry, dict):
            raise HubError('the hub listed a file of %s as %s, not an object' % (model_id, type(entry).__name__), 'bad_answer')
        if entry.get('type') != 'file':
            continue
        path, size, lfs = entry.get('path'), entry.get('size'), entry.get('lfs')
        if not valid_path(path):
            raise HubError('the hub listed a file of %s at %s: a file must be a relative path inside the model, without .. '
                           'parts or control characters; nothing was written' % (model_id, json.dumps(path)[:200]), 'bad_answer')
        if path in seen:
            raise HubError('the hub listed %s of %s twice' % (json.dumps(path), model_id), 'bad_answer')
        seen.add(path)
        if isinstance(lfs, dict):
            blob, algorithm, size = lfs.get('oid'), 'sha256', lfs.get('size', size)
            good = isinstance(blob, str) and SHA256_RE.match(blob)
        else:
            blob, algorithm = entry.get('oid'), 'git-sha1'
            good = isinstance(blob, str) and COMMIT_RE.match(blob)
        if not good:
            raise HubError('the hub gave %s of %s the hash %s: a %s must be %d hexadecimal digits'
                           % (json.dumps(path), model_id, json.dumps(blob)[:100], algorithm, 64 if algorithm == 'sha256' else 40),
                           'bad_answer')
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise HubError('the hub gave %s of %s the size %s: a size must be a whole number of bytes'
                           % (json.dumps(path), model_id, json.dumps(size)[:100]), 'bad_answer')
        out.append({'path': path, 'size': size, 'blob': blob, 'algorithm': algorithm})
        if len(out) > MAX_FILES:
            raise HubError('the hub listed more than %d files for %s: refused' % (MAX_FILES, model_id), 'bad_answer')
    if not out:
        raise HubError('the hub listed no files for %s' % model_id, 'bad_answer')
    clash = [f['path'] for f in out if any(p in seen for p in _parents(f['path']))]
    if clash:
        raise HubError('the hub listed %s of %s under a file of the same name' % (json.dumps(clash[0]), model_id), 'bad_answer')
    return sorted(out, key=lambda f: f['path'])


def _parents(path):
    parts = path.split('/')
    return ['/'.join(parts[:i]) for i in range(1, len(parts))]


def missing(hf_home, model_id, commit, files):
    """The files of the listing the cache's snapshot lacks: not there, not a link to the blob of their hash, or of
    another size."""
    folder = repo_folder(hf_home, model_id)
    out = []
    for f in files:
        link = os.path.join(folder, 'snapshots', commit, f['path'])
        blob = os.path.join(folder, 'blobs', f['blob'])
        try:
            good = os.path.realpath(link) == os.path.realpath(blob) and os.path.getsize(blob) == f['size']
        except OSError:
            good = False
        if not good:
            out.append(f)
    return out


def _hasher(algorithm, size):
    if algorithm == 'sha256':
        return hashlib.sha256()
    hasher = hashlib.sha1()  # nosec: git names a blob by this hash; it is compared, not trusted for secrecy
    hasher.update(('blob %d\0' % size).encode('ascii'))
    return hasher


class Hub(object):
    """The hub's HTTP API at endpoint, with a token (sent to the endpoint's host only: a redirect to another host,
    such as the hub's CDN, goes without it)."""

    def __init__(self, endpoint='', token='', timeout=60):
        self.endpoint = (endpoint or DEFAULT_ENDPOINT).rstrip('/')
        problem = endpoint_problem(self.endpoint)
        if problem:
            raise HubError(problem, 'bad_setting')
        self.origin = http_util.split(self.endpoint)[:3]
        self.token = token
        self.timeout = timeout

    def _open(self, url, method='GET'):
        """(the response, the connection) for url, after redirects."""
        for dummy in range(MAX_REDIRECTS + 1):
            conn, target = http_util.connect(url, self.timeout)
            headers = {'User-Agent': 'inferops.gpu_inference'}
            if self.token and http_util.split(url)[:3] == self.origin:
                headers['Authorization'] = 'Bearer ' + self.token
            try:
                conn.request(method, target, headers=headers)
                response = conn.getresponse()
            except http_util.ERRORS as exc:
                conn.close()
                raise HubError('%s did not answer: %s' % (http_util.split(url)[1], exc), 'unreachable')
            location = response.getheader('Location')
            if response.status in (301, 302, 303, 307, 308) and location:
                try:
                    response.read(65536)
                except http_util.ERRORS:
                    pass
                conn.close()
                url = urljoin(url, location)
                try:
                    http_util.split(url)
                except ValueError:
                    raise HubError('the hub redirected to %s, not an http(s) URL' % json.dumps(location)[:200], 'bad_answer')
                continue
            return response, conn
        raise HubError('the hub redirected more than %d times' % MAX_REDIRECTS, 'bad_answer')

    def _json(self, path, what):
        """(the JSON answer for path, its Link header); one read, bounded."""
        response, conn = self._open(self.endpoint + path)
        try:
            data = response.read(http_util.MAX_BODY + 1)
        except http_util.ERRORS as exc:
            raise HubError('the hub did not finish its answer for %s: %s' % (what, exc), 'unreachable')
        finally:
            conn.close()
        self._status(response.status, what)
        if len(data) > http_util.MAX_BODY:
            raise HubError('the hub answered more than %d bytes for %s: refused' % (http_util.MAX_BODY, what), 'bad_answer')
        try:
            return json.loads(data.decode('utf-8')), response.getheader('Link') or ''
        except ValueError:
            raise HubError('the hub answered %s with something other than JSON' % what, 'bad_answer')

    def _status(self, status, what):
        if status in (401, 403):
            raise HubError('the hub refused %s (HTTP %d): a gated or private model needs a token that may read it '
                           '(vllm_server_hf_token)' % (what, status), 'refused')
        if status == 404:
            raise HubError('the hub has no %s (HTTP 404)' % what, 'missing')
        if status != 200:
            raise HubError('the hub answered HTTP %d for %s' % (status, what), 'unreachable')

    def commit(self, model_id, revision):
        """The commit revision names now."""
        what = '%s at revision %s' % (model_id, revision)
        answer = self._json('/api/models/%s/revision/%s' % (model_id, quote(revision, safe='')), what)[0]
        sha = answer.get('sha') if isinstance(answer, dict) else None
        if not isinstance(sha, str) or not COMMIT_RE.match(sha):
            raise HubError('the hub gave %s the commit %s: a commit id is 40 hexadecimal digits'
                           % (what, json.dumps(sha)[:100]), 'bad_answer')
        return sha

    def files(self, model_id, commit):
        """The checked files of the model at commit (every page of the listing)."""
        url, listing = '/api/models/%s/tree/%s?recursive=true&expand=false' % (model_id, commit), []
        for dummy in range(MAX_FILES // 100 + 1):
            page, link = self._json(url, 'the file list of %s at %s' % (model_id, commit))
            if not isinstance(page, list):
                raise HubError('the hub listed the files of %s as %s, not a list' % (model_id, type(page).__name__), 'bad_answer')
            listing += page
            url = _next_link(link)
            if not url:
                return files_of(listing, model_id)
            if http_util.split(urljoin(self.endpoint + '/', url))[:3] != self.origin:
                raise HubError('the hub sent the next page of the file list to another host: refused', 'bad_answer')
            url = urlsplit(urljoin(self.endpoint + '/', url))
            url = url.path[len(urlsplit(self.endpoint).path):] + ('?' + url.query if url.query else '')
        raise HubError('the file list of %s has too many pages' % model_id, 'bad_answer')

    def download(self, model_id, commit, f, dest):
        """The file f of the listing into dest, checked (its size, its hash) before it is put in place."""
        what = '%s of %s at %s' % (f['path'], model_id, commit)
        response, conn = self._open('%s/%s/resolve/%s/%s' % (self.endpoint, model_id, commit, quote(f['path'])))
        partial = dest + '.incomplete'
        try:
            self._status(response.status, what)
            hasher, size = _hasher(f['algorithm'], f['size']), 0
            with open(partial, 'wb') as out:
                while True:
                    try:
                        chunk = response.read(min(CHUNK, f['size'] + 1 - size))
                    except http_util.ERRORS as exc:
                        raise HubError('the download of %s stopped: %s' % (what, exc), 'unreachable')
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > f['size']:
                        raise HubError('the hub sent more than the %d bytes it listed for %s: refused' % (f['size'], what), 'mismatch')
                    hasher.update(chunk)
                    out.write(chunk)
            if size != f['size']:
                raise HubError('the hub sent %d bytes of the %d it listed for %s' % (size, f['size'], what), 'mismatch')
            if hasher.hexdigest() != f['blob']:
                raise HubError('%s does not match the hash the hub listed (%s %s): not kept' % (what, f['algorithm'], f['blob']),
                               'mismatch')
            os.rename(partial, dest)
        except (OSError, IOError) as exc:
            raise HubError('could not write %s: %s' % (dest, exc), 'disk')
        finally:
            conn.close()
            if os.path.exists(partial):
                os.remove(partial)


def _next_link(header):
    """The URL of rel="next" in a Link header (the hub pages a long file list), or ''."""
    for part in header.split(','):
        match = re.match(r'\s*<([^>]*)>\s*;.*\brel="?next"?', part)
        if match:
            return match.group(1)
    return ''


def free_bytes(path):
    """The bytes free on the file system of path, or of its nearest folder that exists."""
    stat = os.statvfs(nearest_existing(path))
    return stat.f_bavail * stat.f_frsize


def stage(hub, hf_home, model_id, revision='', check_mode=False):
    """Put model_id at revision (a branch, a tag or a commit; '' is main) into the hub cache under hf_home.
    Returns {'changed', 'commit', 'snapshot', 'files', 'bytes', 'downloaded': [paths], 'downloaded_bytes'}."""
    revision = revision or 'main'
    commit = revision if COMMIT_RE.match(revision) else hub.commit(model_id, revision)
    files = hub.files(model_id, commit)
    lacking = missing(hf_home, model_id, commit, files)
    folder = repo_folder(hf_home, model_id)
    ref = os.path.join(folder, 'refs', revision)
    ref_stale = revision != commit and cached_commit(hf_home, model_id, revision) != commit
    result = {'changed': bool(lacking) or ref_stale, 'commit': commit, 'snapshot': os.path.join(folder, 'snapshots', commit),
              'files': len(files), 'bytes': sum(f['size'] for f in files),
              'downloaded': [f['path'] for f in lacking], 'downloaded_bytes': sum(f['size'] for f in lacking)}
    if check_mode or not result['changed']:
        return result
    need, free = sum(f['size'] for f in lacking if not os.path.exists(os.path.join(folder, 'blobs', f['blob']))), free_bytes(folder)
    if need > free:
        raise HubError('%s needs %d bytes more in %s; its disk has %d free' % (model_id, need, hf_home, free), 'disk')
    try:
        os.makedirs(os.path.join(folder, 'blobs'), exist_ok=True)
        # Every blob first: the snapshot's links are made only once all are there and checked, so that a download cut
        # short leaves no snapshot that looks complete (the model check reads the snapshot).
        for f in lacking:
            blob = os.path.join(folder, 'blobs', f['blob'])
            if not (os.path.isfile(blob) and os.path.getsize(blob) == f['size']):
                hub.download(model_id, commit, f, blob)
        os.makedirs(os.path.join(folder, 'snapshots', commit), exist_ok=True)
        for f in lacking:
            blob = os.path.join(folder, 'blobs', f['blob'])
            link = os.path.join(folder, 'snapshots', commit, f['path'])
            os.makedirs(os.path.dirname(link), exist_ok=True)
            if os.path.lexists(link + '.tmp'):
                os.remove(link + '.tmp')
            os.symlink(os.path.relpath(blob, os.path.dirname(link)), link + '.tmp')
            os.rename(link + '.tmp', link)
        if ref_stale:
            os.makedirs(os.path.dirname(ref), exist_ok=True)
            with open(ref + '.tmp', 'w') as handle:
                handle.write(commit)
            os.rename(ref + '.tmp', ref)
    except (OSError, IOError) as exc:
        raise HubError('could not write the hub cache %s: %s' % (hf_home, exc), 'disk')
    return result
