"""Paths, ports, binaries and the reason-code table (lib/errors.def)."""
import os
import re
import socket
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
BUILD = os.path.abspath(os.environ.get('BROKER_BUILD', SRC))


def find_bin(name):
    for d in ('broker', 'ssoctl', '', 'src', 'bin'):
        p = os.path.join(BUILD, d, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def broker_bin():
    return find_bin('sso-broker')


def ssoctl_bin():
    return find_bin('ssoctl')


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=10.0, step=0.05):
    """Poll pred() until it returns a true value or timeout; returns the last value."""
    end = time.monotonic() + timeout
    val = pred()
    while not val and time.monotonic() < end:
        time.sleep(step)
        val = pred()
    return val


def _load_errors():
    """slug -> HTTP status, from lib/errors.def (the source of truth for reason codes)."""
    table = {}
    path = os.path.join(SRC, 'lib', 'errors.def')
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            parts = re.split(r'\s+', line, maxsplit=4)
            if len(parts) >= 4 and parts[2].isdigit():
                table[parts[3]] = int(parts[2])
    return table


ERRORS = _load_errors()


def http_of(slug):
    return ERRORS.get(slug)
