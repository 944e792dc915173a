#!/usr/bin/env python3
"""A small round-robin TCP proxy: each client connection goes to the next back end in turn.

    python bench/round_robin_proxy.py --listen 127.0.0.1:9000 --backend 127.0.0.1:9001 \\
        --backend 127.0.0.1:9002

Per connection, not per request: an HTTP keep-alive connection stays on its back end, as with
most L4 load balancers. Nothing is sticky between connections, so a client that opens a new
connection lands on the other server: what bench/http_bench.py relies on to show that sessions
and caches are shared. On SIGTERM or SIGINT it prints how many connections and bytes each back
end served, as one JSON line, and exits.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import signal
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counter: dict) -> None:
    try:
        while data := await reader.read(65536):
            counter["bytes"] += len(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            writer.close()


async def serve(listen: tuple[str, int], backends: list[tuple[str, int]]) -> dict:
    stats = {f"{host}:{port}": {"connections": 0, "bytes": 0} for host, port in backends}
    turn = itertools.cycle(backends)

    async def handle(client_reader, client_writer) -> None:
        host, port = next(turn)
        counter = stats[f"{host}:{port}"]
        try:
            backend_reader, backend_writer = await asyncio.open_connection(host, port)
        except OSError:
            client_writer.close()
            return
        counter["connections"] += 1
        with contextlib.suppress(asyncio.CancelledError):  # stopped while a client is connected
            await asyncio.gather(
                _pipe(client_reader, backend_writer, counter),
                _pipe(backend_reader, client_writer, counter),
            )

    server = await asyncio.start_server(handle, *listen, backlog=1024)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"proxy listening on {listen[0]}:{listen[1]}", flush=True)
    async with server:
        await stop.wait()
    return stats


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", type=_address, required=True)
    parser.add_argument("--backend", type=_address, action="append", required=True)
    args = parser.parse_args()
    stats = asyncio.run(serve(args.listen, args.backend))
    print(json.dumps(stats), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    main()
