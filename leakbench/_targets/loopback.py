"""Load goes to this machine only: the checks of --url and of a load command's URLs.

leakbench loads only loopback addresses unless the user passes
``--allow-remote``, and then says so in a warning kept with the result.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from leakbench._settings import AttachTarget, LoadCommand
from leakbench._settings.dsn import redact
from leakbench.errors import UsageError

_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")
_URL_IN_ARGUMENT = re.compile(r"https?://[^\s'\"]+")


def is_loopback(host: str) -> bool:
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        raise UsageError(
            f"--url host {host!r} cannot be resolved; check the name or give an IP address."
        ) from None
    return all(ipaddress.ip_address(str(info[4][0])).is_loopback for info in infos)


def check_url(attach: AttachTarget) -> list[str]:
    """Refuse a non-loopback target unless allowed; return the warnings to show."""
    host = urlsplit(attach.url).hostname or ""
    if is_loopback(host):
        return []
    if not attach.allow_remote:
        raise UsageError(
            f"--url {redact(attach.url)!r} is not on this machine ({host} is not a loopback "
            "address); leakbench loads only 127.0.0.1/::1 unless you pass --allow-remote, and "
            "then only a service you own."
        )
    return [
        f"Loading {redact(attach.url)}, which is not on this machine (--allow-remote): make sure "
        "you own it and that this load cannot hurt anyone."
    ]


def check_command_urls(command: LoadCommand) -> list[str]:
    """Refuse a URL on the command line that is not loopback, unless allowed; return warnings.

    Only what is on the command line can be checked: a URL inside a k6 or
    Locust script is the user's to keep on their own machines.
    """
    remote: list[str] = []
    for argument in command.argv:
        for url in _URL_IN_ARGUMENT.findall(argument):
            host = urlsplit(url).hostname or ""
            if host and not is_loopback(host):
                remote.append(redact(url))
    if not remote:
        return []
    if not command.allow_remote:
        raise UsageError(
            f"The load command targets {remote[0]!r}, which is not on this machine; leakbench "
            "loads only 127.0.0.1/::1 unless you pass --allow-remote, and then only a service "
            "you own."
        )
    return [
        f"The load command targets {', '.join(remote)}, not on this machine (--allow-remote): "
        "make sure you own it and that this load cannot hurt anyone."
    ]
