"""Max-min fair rates: textbook cases, and the vectorised filling against a plain one."""

import numpy as np
import pytest

from gigafleet.perf.fabric.maxmin import Paths, max_min_rates


def naive_max_min(paths: list[list[int]], cap: np.ndarray) -> np.ndarray:
    """Progressive filling one level at a time (Bertsekas & Gallager Sec. 6.5.2)."""
    cap = cap.astype(float).copy()
    rate = np.zeros(len(paths))
    active = set(range(len(paths)))
    while active:
        users = {}
        for f in active:
            for link in paths[f]:
                users.setdefault(link, []).append(f)
        share = {link: cap[link] / len(fs) for link, fs in users.items()}
        tight = min(share.values())
        done = {f for link, fs in users.items() if share[link] <= tight * (1 + 1e-12) for f in fs}
        for f in done:
            rate[f] = tight
            for link in paths[f]:
                cap[link] -= tight
        active -= done
    return rate


def test_textbook_example():
    # link 0 (capacity 1) carries flows 0 and 1; link 1 (capacity 2) flows 1, 2, 3
    p = Paths.from_lists([[0], [0, 1], [1], [1]], 2)
    assert max_min_rates(p, np.array([1.0, 2.0])) == pytest.approx([0.5, 0.5, 0.75, 0.75])


def test_single_bottleneck_splits_evenly():
    p = Paths.from_lists([[0, 1], [0, 2], [0, 3]], 4)
    assert max_min_rates(p, np.array([3.0, 10, 10, 10])) == pytest.approx([1.0, 1.0, 1.0])


@pytest.mark.parametrize("seed", range(6))
def test_matches_plain_progressive_filling(seed):
    rng = np.random.default_rng(seed)
    num_links = 12
    paths = [
        sorted(set(rng.integers(0, num_links, rng.integers(1, 4)).tolist())) for _ in range(40)
    ]
    cap = rng.uniform(0.5, 3.0, num_links)
    got = max_min_rates(Paths.from_lists(paths, num_links), cap)
    assert got == pytest.approx(naive_max_min(paths, cap), rel=1e-9)


def test_feasible_and_every_flow_has_a_saturated_bottleneck():
    rng = np.random.default_rng(7)
    num_links, num_flows = 200, 3000
    cols = [rng.integers(0, num_links, num_flows) for _ in range(3)]
    p = Paths.from_columns(cols, num_links)
    cap = rng.uniform(1.0, 5.0, num_links)
    rate = max_min_rates(p, cap)
    load = np.bincount(p.links, weights=np.repeat(rate, np.diff(p.ptr)), minlength=num_links)
    assert np.all(load <= cap * (1 + 1e-9))
    # max-min: every flow crosses a full link on which no flow is faster than it
    owner = np.repeat(np.arange(num_flows), np.diff(p.ptr))
    for f in range(0, num_flows, 97):
        links = p.links[p.ptr[f] : p.ptr[f + 1]]
        full = [link for link in links if load[link] >= cap[link] * (1 - 1e-9)]
        assert any(rate[f] >= rate[owner[p.links == link]].max() * (1 - 1e-9) for link in full), f


def test_columns_skip_missing_hops():
    p = Paths.from_columns([np.array([0, 1]), np.array([-1, 2]), np.array([3, 3])], 4)
    assert p.ptr.tolist() == [0, 2, 5] and p.links.tolist() == [0, 3, 1, 2, 3]
