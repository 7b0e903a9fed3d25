"""Session-wide pytest hooks (the suite's order on the workers; the ``heavy`` mark)."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "heavy(seconds): a test that costs about `seconds` of CPU on 2 cores (mostly a "
        "simulator build); make test starts these first, longest first")


def pytest_collection_modifyitems(session, config, items):
    """Longest-first: the heavy tests (``@pytest.mark.heavy(seconds)``) go to the front, by
    decreasing cost, the others keep their order. pytest-xdist hands tests out in this order, so
    the short ones fill in at the end instead of one long test running alone on one worker.
    Tests that share a simulator build (it is locked while one builds) are not both marked, so
    the two workers do not start by waiting on one lock."""
    def cost(item):
        m = item.get_closest_marker("heavy")
        return m.args[0] if m else 0
    items.sort(key=lambda item: -cost(item))         # stable: unmarked keep collection order
