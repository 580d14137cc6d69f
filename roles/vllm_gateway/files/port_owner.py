# Who listens on ADDRESS:PORT (argv): "free", or the listening processes' names (from /proc), comma-separated.
import os
import socket
import sys

address, port = sys.argv[1], int(sys.argv[2])
target = '127.0.0.1' if address in ('*', '0.0.0.0', '', '::') else address
try:
    socket.create_connection((target, port), timeout=1).close()
except OSError:
    print('free')
    sys.exit(0)
inodes = set()
for table in ('/proc/net/tcp', '/proc/net/tcp6'):
    try:
        with open(table) as handle:
            rows = handle.read().splitlines()[1:]
    except OSError:
        continue
    for row in rows:
        cols = row.split()
        if cols[3] == '0A' and int(cols[1].rsplit(':', 1)[1], 16) == port:
            inodes.add('socket:[%s]' % cols[9])
names = set()
for pid in (p for p in os.listdir('/proc') if p.isdigit()):
    try:
        fds = os.listdir('/proc/%s/fd' % pid)
        if any(os.readlink('/proc/%s/fd/%s' % (pid, fd)) in inodes for fd in fds):
            with open('/proc/%s/comm' % pid) as handle:
                names.add(handle.read().strip())
    except OSError:
        continue
print(','.join(sorted(names)) or 'another process (not visible from here)')
