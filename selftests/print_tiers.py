"""A pytest plugin for the self-tests: a collection prints, for each test it selected, the
GPU tiers it belongs to ("TIERS gpu <nodeid>"), so that one collection of the suites answers
for both tiers (selftests/test_gpu_budget.py)."""

TIERS = ("gpu", "gpu_full")


def pytest_collection_finish(session):
    for item in session.items:
        marks = [tier for tier in TIERS if item.get_closest_marker(tier)]
        print(f"TIERS {','.join(marks) or '-'} {item.nodeid}")
