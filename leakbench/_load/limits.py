"""Room for the connections a load needs: the open-file limit (RLIMIT_NOFILE).

Each concurrent connection is a file descriptor in leakbench and another in
the target, which inherits leakbench's limit when it is started after this
is called. Many systems default to a soft limit of 1,024, which a
1,000-connection run would hit as "Too many open files" errors mid-load.
"""

from __future__ import annotations

import resource

from leakbench.errors import UsageError

# Descriptors besides the load's sockets: the database connections of the
# poller, the probe's sockets, log files, pipes and the interpreter's own.
FD_HEADROOM = 256


def ensure_open_files(connections: int) -> int:
    """Raise the soft limit (and the hard one when allowed) to fit ``connections``.

    Returns the soft limit now in force; raises UsageError when the system
    refuses to give enough.
    """
    needed = connections + FD_HEADROOM
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return soft
    if hard == resource.RLIM_INFINITY or hard >= needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        return needed
    try:
        # Raising the hard limit needs privilege (CAP_SYS_RESOURCE); try anyway.
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
    except (ValueError, OSError):
        raise UsageError(
            f"--concurrency {connections} needs about {needed} open files, but this system "
            f"allows {hard} (ulimit -Hn); raise the limit (ulimit -n {needed}, or LimitNOFILE "
            "for a service) or lower --concurrency."
        ) from None
    return needed
