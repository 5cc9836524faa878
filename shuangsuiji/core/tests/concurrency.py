"""Service calls run at once in threads, for the race tests (PostgreSQL: row locks)."""

import threading

from django.db import connections


def race(*calls, timeout: float = 60) -> list:
    """Run the calls at once, each in its own thread (and database connection, closed at the
    end); return each call's result or the exception it raised, in call order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    return results


def race_split(calls) -> tuple[list, list[Exception]]:
    """:func:`race`, its outcomes split into the results and the exceptions."""
    outcomes = race(*calls)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    return [o for o in outcomes if not isinstance(o, Exception)], errors
