"""Stand-in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com.

That host is unreachable here; ansible-test says the script may be saved by hand to
~/.ansible/test/cache/get_pip_<version>.py. This one does what get-pip does for
ansible-test: put pip into the empty virtualenv (stdlib ensurepip), then `pip install`
the exact packages ansible-test asked for (pip==24.2 ...) from the package index.
"""
import ensurepip
import os
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
ensurepip.bootstrap()
# Read the machine's pip configuration (its CA bundle, its local wheel folder) explicitly.
env = dict(os.environ, PIP_CONFIG_FILE='/etc/pip.conf') if os.path.exists('/etc/pip.conf') else os.environ
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args, env=env))
