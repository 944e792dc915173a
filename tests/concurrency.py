"""Races for PostgreSQL tests: threads with their own connections, started together."""

import threading
from collections.abc import Callable

from django.db import connection


def race(count: int, action: Callable[[int], str]) -> list[str]:
    """Run ``action(i)`` in ``count`` threads released together on a barrier; collect each
    outcome (what it returned, or the name of the exception it raised). Each thread closes its
    own connection."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=20)
            result = action(index)
        except Exception as error:  # the outcome is what we count
            result = type(error).__name__
        finally:
            connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(outcomes) == count, "a thread hung"
    return outcomes
