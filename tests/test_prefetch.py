import threading
import time

import pytest

from semsum.prefetch import prefetch


def test_items_arrive_in_order_and_errors_reach_the_consumer():
    assert list(prefetch(range(100), depth=3)) == list(range(100))

    def broken():
        yield 1
        raise ValueError("decoder failed")

    items = prefetch(broken())
    assert next(items) == 1
    with pytest.raises(ValueError, match="decoder failed"):
        next(items)


def test_closing_early_stops_the_producer():
    produced = []

    def endless():
        while True:
            produced.append(len(produced))
            yield produced[-1]

    before = threading.active_count()
    items = prefetch(endless(), depth=2)
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()
    time.sleep(0.3)
    assert threading.active_count() == before
    assert len(produced) <= 3 + 2 + 1  # at most the queue's depth (and the one in hand) ahead
