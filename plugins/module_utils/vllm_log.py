# -*- coding: utf-8 -*-
# Copyright (c) inferops.gpu_inference contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The vLLM server log: which start-up stage a server is in, and its tail.

Owns the log lines vLLM prints while it starts (the V1 engine's messages, 0.6 to 0.32), so
that a wait can say "loading weights" or "capturing CUDA graphs" rather than only "not yet".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

# (stage, pattern) in start-up order; the latest stage found in the log wins.
STAGES = (
    ('starting', re.compile(r'non-default args|vLLM API server version|Initializing a V1 LLM engine|Initializing an LLM engine')),
    ('loading weights', re.compile(r'Starting to load model|Loading weights|Loading safetensors|Loading model weights')),
    ('weights loaded', re.compile(r'Loading weights took|Model loading took')),
    ('compiling', re.compile(r'Compiling a graph|Dynamo bytecode transform|torch\.compile takes|Start compiling')),
    ('profiling memory', re.compile(r'Memory profiling takes|Available KV cache memory|KV cache size|GPU KV cache size')),
    ('capturing graphs', re.compile(r'Capturing CUDA graph|Capturing cudagraphs|Graph capturing finished')),
    ('starting API server', re.compile(r'Starting vLLM API server|Starting vLLM server on|Available routes are')),
    ('startup complete', re.compile(r'Application startup complete')),
)
# Lines that say the server is going down, with the stage name reported for them.
# Only a traceback, an exception line at the start of a line, or an ERROR record: warnings
# that mention errors (vLLM warns "... like `OSError: [Errno 24]`" about ulimits) do not count.
FAILURES = (
    ('failed', re.compile(r'^(\(\w+ pid=\d+\) )?(Traceback \(most recent call last\)'
                          r'|[A-Za-z_][\w.]*(Error|Exception): '
                          r'|ERROR .*(EngineCore failed to start|Engine core initialization failed|out of memory))')),
)


def stages_of(lines):
    """The start-up stages the lines show, in the order reached (a stage seen after a later one
    does not count again); 'failed' last when a line says the server is going down."""
    reached = []
    rank = -1
    for line in lines:
        for name, pattern in FAILURES:
            if pattern.search(line):
                return reached + [name]
        for index, (name, pattern) in enumerate(STAGES):
            if index > rank and pattern.search(line):
                reached.append(name)
                rank = index
    return reached


def stage_of(lines):
    """The latest start-up stage the lines show, or None; a failure wins over any stage."""
    reached = stages_of(lines)
    return reached[-1] if reached else None


def read_tail(path, max_bytes=65536, lines=40):
    """The last ``lines`` lines of a file (reading at most max_bytes), [] when absent."""
    try:
        with open(path, 'rb') as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_bytes))
            data = handle.read().decode('utf-8', 'replace')
    except (IOError, OSError):
        return []
    out = data.splitlines()
    return out[-lines:] if lines else out


def read_from(path, offset, limit=1 << 20):
    """Text appended to a file since ``offset`` and the new offset (the log of this start only).
    At most the last ``limit`` bytes: a long-running server's log (access lines) can be large."""
    try:
        with open(path, 'rb') as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            if size < offset:  # truncated or rotated
                offset = 0
            offset = max(offset, size - limit)
            handle.seek(offset)
            return handle.read().decode('utf-8', 'replace'), size
    except (IOError, OSError):
        return '', offset


EXCEPTION_LINE = re.compile(r'^(\(\w+ pid=\d+\) )?([A-Za-z_][\w.]*(Error|Exception)): (.*)$')


# Exceptions Python raises while a failing server exits, after (and instead of naming) the cause:
# a signal handler printing while stdout is being written.
EXIT_NOISE = re.compile(r'^RuntimeError: reentrant call inside <_io\.')


def last_error(lines):
    """The last exception of a traceback in the lines, with the indented lines that explain it
    (pydantic puts the reason on the next line), as one line; None when there is none. Exit noise
    (EXIT_NOISE) counts only when the lines hold no other exception."""
    noise = None
    for index in range(len(lines) - 1, -1, -1):
        match = EXCEPTION_LINE.match(lines[index])
        if match:
            parts = [match.group(2) + ': ' + match.group(4).strip()]
            for follow in lines[index + 1:index + 3]:
                text = follow.strip()
                if not follow.startswith(' ') or text.startswith('For further information'):
                    break
                parts.append(text)
            error = ' '.join(parts)[:600]
            if not EXIT_NOISE.match(error):
                return error
            noise = noise or error
    return noise
