from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = None

@test_case(points=1, hidden=False)
def test_posteriors_small(state_posteriors):
    import itertools
    import numpy as np

    def brute(log_start, log_trans, log_emit):
        T, S = log_emit.shape
        scores = []
        for path in itertools.product(range(S), repeat=T):
            s = log_start[path[0]] + log_emit[0, path[0]]
            for t in range(1, T):
                s += log_trans[path[t - 1], path[t]] + log_emit[t, path[t]]
            scores.append((s, path))
        return scores
    rng = np.random.default_rng(5)
    log_start = np.log(rng.dirichlet(np.ones(3)))
    log_trans = np.log(rng.dirichlet(np.ones(3), size=3))
    log_emit = np.log(rng.random((4, 3)))
    want = np.zeros((4, 3))
    for s, path in brute(log_start, log_trans, log_emit):
        for t, state in enumerate(path):
            want[t, state] += np.exp(s)
    want /= want[0].sum()
    got = np.asarray(state_posteriors(log_start, log_trans, log_emit))
    assert got.shape == (4, 3), f'gamma for T=4 and 3 states should have shape (4, 3), got {got.shape}'
    assert np.allclose(got, want), f'gamma should be {want.round(4).tolist()} (by summing over all paths), got {np.round(got, 4).tolist()}'

@test_case(points=1, hidden=False)
def test_posteriors_are_distributions(state_posteriors, casino_log_start, casino_log_trans, casino_log_emit):
    import numpy as np
    got = np.asarray(state_posteriors(casino_log_start, casino_log_trans, casino_log_emit))
    assert got.shape == (10, 2), f'gamma for 10 rolls and 2 states should have shape (10, 2), got {got.shape}'
    assert np.all(got >= 0) and np.allclose(got.sum(axis=1), 1.0), f'every row of gamma should be a probability distribution, got row sums {got.sum(axis=1)}'

