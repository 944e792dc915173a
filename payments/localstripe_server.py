"""Run localstripe, the offline fake of Stripe's HTTP API, on 127.0.0.1 only.

Why not localstripe's own ``localstripe`` command: it binds to ``::`` (every interface, IPv4
and IPv6) with no option to change that, so anyone on the same network could create and read
"payments" on a developer's machine; and it pickles its whole state to ``/tmp/localstripe.pickle``,
one file shared by every checkout and every user of the machine. This launcher listens on
127.0.0.1 and keeps the state in the project's ignored ``var/`` folder (or ``--state-file``),
written atomically so that a crash mid-write never leaves a truncated pickle behind.

It is a standalone process on purpose: it imports no Django settings.
``manage.py localstripe`` starts it with the state file in ``settings.VAR_DIR``.

    python -m payments.localstripe_server --port 8420 --state-file var/localstripe.pickle
"""

import argparse
import contextlib
import logging
import os
import pickle
import socket
import tempfile
from pathlib import Path

from aiohttp import web
from localstripe.resources import Store
from localstripe.server import app, store

LISTEN_HOST = "127.0.0.1"
DEFAULT_PORT = 8420
DEFAULT_STATE_FILE = Path(__file__).resolve().parent.parent / "var" / "localstripe.pickle"


def use_state_file(path: Path) -> None:
    """Make localstripe's ``Store`` load from and save to ``path`` instead of /tmp."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def try_load_from_disk(self: Store) -> None:
        try:
            with path.open("rb") as state:
                saved = pickle.load(state)  # noqa: S301 - our own file, written below  # nosec B301
        except FileNotFoundError:
            return
        self.clear()
        self.update(saved)  # dict.update does not call Store.__setitem__: no dump per item

    def dump_to_disk(self: Store) -> None:
        # localstripe saves after every change; a plain dict (not the Store subclass) is
        # pickled so that loading it does not call Store.__setitem__, which saves again.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as state:
                pickle.dump(dict(self), state, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    Store.try_load_from_disk = try_load_from_disk
    Store.dump_to_disk = dump_to_disk


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run localstripe on 127.0.0.1 only.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--state-file", type=Path, default=DEFAULT_STATE_FILE)
    parser.add_argument(
        "--from-scratch", action="store_true", help="start empty, discarding the saved state"
    )
    args = parser.parse_args(argv)

    use_state_file(args.state_file.resolve())
    if args.from_scratch:
        store.clear()
        store.dump_to_disk()  # so that the next start without --from-scratch is empty too
    else:
        store.try_load_from_disk()

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LISTEN_HOST, args.port))

    access_log = logging.getLogger("aiohttp.access")
    access_log.setLevel(logging.INFO)
    access_log.addHandler(logging.StreamHandler())
    web.run_app(app, sock=sock, access_log=access_log)


if __name__ == "__main__":
    main()
