"""The siting solver on small instances: exact against brute force, greedy beside it."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy import sparse

from spatial import ParameterError
from spatial.siting import coverage, greedy, parse_weights, read_candidates, solve_mclp, undominated


def _brute_force(cover: sparse.csr_matrix, w: np.ndarray, k: int, allowed: np.ndarray | None = None) -> float:
    dense = cover.toarray()
    cols = [j for j in range(dense.shape[1]) if allowed is None or allowed[j]]
    return max(float(w @ dense[:, list(c)].any(axis=1)) for c in combinations(cols, min(k, len(cols))))


@pytest.mark.parametrize("seed", range(8))
def test_exact_on_small_random_instances(seed):
    rng = np.random.default_rng(seed)
    n_d, n_c, k = 40, 12, 3
    cover = sparse.csr_matrix(rng.random((n_d, n_c)) < 0.15)
    w = rng.choice([0.5, 1.0], size=n_d)
    sol = solve_mclp(cover, w, k)
    assert sol.optimal and sol.gap == 0.0
    assert len(sol.chosen) <= k
    assert sol.objective == pytest.approx(_brute_force(cover, w, k))
    # greedy is never better than the optimum
    assert sum(g for _, g, _ in greedy(cover, w, k)) <= sol.objective + 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_leaving_dominated_candidates_out_keeps_the_optimum(seed):
    # clustered demand on a dense grid of candidates: many a candidate covers a subset of another's
    rng = np.random.default_rng(seed)
    households = np.array([106.7, 21.8]) + rng.normal(0, 0.006, (300, 2))
    side = np.linspace(-0.04, 0.04, 5)
    cands = np.array([[106.7 + x, 21.8 + y] for x in side for y in side])
    cover = coverage(cands, households, 2_000)
    w = rng.choice([0.5, 1.0], size=len(households))
    cols, dominator = undominated(cover.tocsr())
    assert len(cols) < cover.shape[1]  # some were dominated
    dense = cover.toarray()
    for j in range(cover.shape[1]):
        if dense[:, j].any():  # each dominated candidate's households are all covered by its stand-in
            assert dominator[j] in cols and not (dense[:, j] & ~dense[:, dominator[j]]).any()
    for k in (2, 3):
        reduced, full = solve_mclp(cover, w, k), solve_mclp(cover, w, k, reduce=False)
        assert reduced.optimal and full.optimal
        assert reduced.objective == pytest.approx(full.objective) == pytest.approx(_brute_force(cover, w, k))


def test_a_candidate_is_dominated_only_by_one_allowed_and_no_dearer():
    # 1 covers a superset of 0's households; 2 is identical to 1
    dense = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 0]], dtype=bool)
    a = sparse.csr_matrix(dense)
    assert undominated(a)[0].tolist() == [1]  # 0 under 1, 2 the same as 1 and later
    assert undominated(a, allowed=np.array([True, False, True]))[0].tolist() == [2]
    # with costs, a cheaper subset stays: it may be what the budget affords
    cols, _ = undominated(a, costs=np.array([1.0, 5.0, 5.0]))
    assert cols.tolist() == [0, 1]
    assert undominated(a, costs=np.array([1.0, 5.0, 4.0]))[0].tolist() == [0, 2]
    sol = solve_mclp(a, np.ones(3), 1, costs=np.array([1.0, 5.0, 5.0]), budget=2)
    assert sol.chosen == [0] and sol.objective == 1


def test_greedy_strictly_worse_and_solver_optimal():
    # site 0 covers the middle four households; sites 1 and 2 each cover two of them and one of
    # their own: greedy takes site 0 (4) then adds 1; the optimum is sites 1 and 2 (6)
    rows = {0: [0, 1, 2, 3], 1: [0, 1, 4], 2: [2, 3, 5]}
    dense = np.zeros((6, 3), dtype=bool)
    for j, households in rows.items():
        dense[households, j] = True
    cover, w = sparse.csr_matrix(dense), np.ones(6)
    picks = greedy(cover, w, 2)
    assert [j for j, _, _ in picks][0] == 0 and sum(g for _, g, _ in picks) == 5
    sol = solve_mclp(cover, w, 2)
    assert sol.optimal and sorted(sol.chosen) == [1, 2] and sol.objective == 6


def test_excluded_candidates_are_never_chosen():
    dense = np.array([[1, 0], [1, 0], [1, 1]], dtype=bool)
    cover, w = sparse.csr_matrix(dense), np.ones(3)
    allowed = np.array([False, True])
    sol = solve_mclp(cover, w, 1, allowed=allowed)
    assert sol.chosen == [1] and sol.objective == 1 == _brute_force(cover, w, 1, allowed)


def test_budget_with_costs():
    dense = np.eye(3, dtype=bool)
    cover, w = sparse.csr_matrix(dense), np.array([3.0, 2.0, 2.0])
    costs = np.array([10.0, 5.0, 5.0])
    sol = solve_mclp(cover, w, 3, costs=costs, budget=10)
    assert sorted(sol.chosen) == [1, 2] and sol.objective == 4


def test_time_limit_returns_best_found_with_gap():
    rng = np.random.default_rng(3)
    cover = sparse.csr_matrix(rng.random((3000, 400)) < 0.02)
    w = rng.random(3000)
    start = sum(g for _, g, _ in greedy(cover, w, 25))
    sol = solve_mclp(cover, w, 25, time_limit_s=0.05)
    # this instance takes HiGHS well over a second to prove: stopped, it returns its best with the gap
    assert not sol.optimal and sol.status == "Time limit reached"
    assert 0 < sol.gap < 1
    assert sol.objective >= start - 1e-9 and len(sol.chosen) <= 25


def test_coverage_is_metric():
    # 0.01 degrees of latitude is about 1,106 m
    households = np.array([[106.7, 21.8], [106.7, 21.81], [106.7, 21.9]])
    cover = coverage(np.array([[106.7, 21.8]]), households, 1_200).toarray().ravel()
    assert cover.tolist() == [True, True, False]
    assert coverage(np.array([[106.7, 21.8]]), households, 1_000).toarray().ravel().tolist() == [True, False, False]


def test_candidate_files_name_what_is_wrong():
    good = b'{"type":"FeatureCollection","features":[{"type":"Feature","id":"A","geometry":{"type":"Point","coordinates":[106.7,21.8]},"properties":{}}]}'
    assert read_candidates(good, "c.geojson")[0].candidate == "A"
    with pytest.raises(ParameterError, match="feature 2 has no geometry"):
        read_candidates(
            b'{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]}},'
            b'{"type":"Feature","geometry":null,"properties":{}}]}',
            "c.geojson",
        )
    with pytest.raises(ParameterError, match="no geometry"):
        read_candidates(b"name,cost\na,1\n", "c.csv")
    with pytest.raises(ParameterError, match="row 2 has no geometry"):
        read_candidates(b"lon,lat\n106.7,21.8\n,\n", "c.csv")
    assert [c.candidate for c in read_candidates(b"lon,lat\n106.7,21.8\n106.8,21.9\n", "c.csv")] == ["1", "2"]


def test_weights():
    assert parse_weights(["near-poor=0.25"]) == {"poor": 1.0, "near_poor": 0.25}
    with pytest.raises(ParameterError, match="unknown household class"):
        parse_weights(["rich=1"])
    with pytest.raises(ParameterError, match=">= 0"):
        parse_weights(["poor=-1"])
