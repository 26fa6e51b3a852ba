"""The all-reduce bus bandwidth measurement (suites/hardware/interconnect.py), run on CPU:
the same code the GPU check runs, with gloo instead of NCCL, two ranks on loopback."""

import pytest

from suites.hardware import interconnect


@pytest.mark.parametrize("world, factor", [(2, 1.0), (4, 1.5), (8, 1.75)])
def test_bus_bandwidth_is_nccl_tests_ring_factor(world, factor):
    assert interconnect.bus_factor(world) == factor
    m = interconnect.Measured(size=1 << 30, world=world, times_s=[0.02, 0.01, 0.03])
    assert m.busbw_gbps == pytest.approx((1 << 30) * factor / 0.02 / 1e9)


@pytest.mark.slow
def test_two_ranks_all_reduce_over_gloo(tmp_path):
    found = interconnect.measure(2, tmp_path, backend="gloo", device="cpu",
                                 sizes=(1 << 16, 1 << 20), rounds=3, calls=3)
    assert [m.size for m in found] == [1 << 16, 1 << 20]
    for m in found:
        assert len(m.times_s) == 3 and all(t > 0 for t in m.times_s)
        assert 0 < m.busbw_gbps < 1e4, m
