"""An app served on 127.0.0.1 for real-browser work, and the Chromium arguments that visit it.

Shared by the browser tests (``tests/browser/``) and ``scripts/screenshots.py``. Chromium runs
headless, without a sandbox (these machines run as root), and resolves every host but 127.0.0.1 to
"not found", so a page that tries to reach a tracker shows the attempt without anything leaving the
machine.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

__all__ = ["CHROMIUM_ARGS", "free_port", "served"]

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(
    command: Sequence[str], log: Path, env: Mapping[str, str] | None = None, timeout: float = 20.0
) -> Iterator[str]:
    """Run a server, wait until it listens, give its base URL; stop it by its process id at the end.

    Args:
        command: The server's command line; ``{port}`` in it becomes a free local port.
        log: Where its output goes (not a pipe, which nobody would read while it runs: a full pipe
            blocks the server).
        env: Its environment (by default, this process's).
        timeout: How long it may take to listen, in seconds.

    Raises:
        RuntimeError: if the server exits first (with its output).
        TimeoutError: if it does not listen in time.
    """
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        server = subprocess.Popen(
            [part.format(port=port) for part in command],
            cwd=ROOT,
            env=None if env is None else dict(env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_port(port, server, log, timeout)
        yield f"http://127.0.0.1:{port}"
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)


def _wait_for_port(port: int, server: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}:\n{log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s (the server's output: {log})")
