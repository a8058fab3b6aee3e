from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = None

@test_case(points=1, hidden=False)
def test_forward_small(forward_log):
    import itertools
    import numpy as np
    from scipy.special import logsumexp

    def brute(log_start, log_trans, log_emit):
        T, S = log_emit.shape
        scores = []
        for path in itertools.product(range(S), repeat=T):
            s = log_start[path[0]] + log_emit[0, path[0]]
            for t in range(1, T):
                s += log_trans[path[t - 1], path[t]] + log_emit[t, path[t]]
            scores.append((s, path))
        return scores
    rng = np.random.default_rng(1)
    log_start = np.log(rng.dirichlet(np.ones(3)))
    log_trans = np.log(rng.dirichlet(np.ones(3), size=3))
    log_emit = np.log(rng.random((4, 3)))
    got = forward_log(log_start, log_trans, log_emit)
    assert isinstance(got, tuple) and len(got) == 2, f'forward_log should return a tuple (log_alpha, log_likelihood), got {got!r}'
    log_alpha, loglik = got
    want = float(logsumexp([s for s, _ in brute(log_start, log_trans, log_emit)]))
    assert isinstance(loglik, float), f'the log-likelihood should be a float, got {type(loglik).__name__}'
    assert np.isclose(loglik, want), f'log-likelihood of a 3-state model on T=4 steps should be {want:.6f} (sum over all 81 paths), got {loglik}'

@test_case(points=1, hidden=False)
def test_forward_alpha(forward_log, casino_log_start, casino_log_trans, casino_log_emit):
    import numpy as np
    log_alpha, loglik = forward_log(casino_log_start, casino_log_trans, casino_log_emit)
    assert np.shape(log_alpha) == (10, 2), f'log_alpha for 10 rolls and 2 states should have shape (10, 2), got {np.shape(log_alpha)}'
    pi, A, B = (np.exp(casino_log_start), np.exp(casino_log_trans), np.exp(casino_log_emit))
    alpha = pi * B[0]
    want = [alpha]
    for t in range(1, 10):
        alpha = alpha @ A * B[t]
        want.append(alpha)
    want = np.log(want)
    assert np.allclose(log_alpha[0], want[0]), f'log_alpha[0] should be log_start + log_emit[0] = {want[0]}, got {log_alpha[0]}'
    assert np.allclose(log_alpha, want), f'log_alpha on the casino rolls should be {want.round(4).tolist()}, got {np.round(log_alpha, 4).tolist()}'

