from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = None

@test_case(points=1, hidden=False)
def test_viterbi_small(viterbi):
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
    rng = np.random.default_rng(3)
    log_start = np.log(rng.dirichlet(np.ones(3)))
    log_trans = np.log(rng.dirichlet(np.ones(3) * 0.5, size=3))
    log_emit = np.log(rng.random((6, 3)))
    best_score, best_path = max(brute(log_start, log_trans, log_emit))
    path, score = viterbi(log_start, log_trans, log_emit)
    assert list(np.asarray(path)) == list(best_path), f'the best path of a 3-state model on 6 steps is {list(best_path)} (by trying all 729 paths), got {list(np.asarray(path))}'

@test_case(points=1, hidden=False)
def test_viterbi_types_and_score(viterbi, casino_log_start, casino_log_trans, casino_log_emit):
    import numpy as np
    got = viterbi(casino_log_start, casino_log_trans, casino_log_emit)
    assert isinstance(got, tuple) and len(got) == 2, f'viterbi should return a tuple (path, log_prob), got {got!r}'
    path, score = got
    assert isinstance(path, np.ndarray) and path.dtype.kind in 'iu', f'the path should be an integer NumPy array, got {path!r}'
    assert path.shape == (10,), f'the path for 10 rolls should have shape (10,), got {path.shape}'
    assert isinstance(score, float), f'log_prob should be a float, got {type(score).__name__}'
    own = casino_log_start[path[0]] + casino_log_emit[0, path[0]] + sum((casino_log_trans[path[t - 1], path[t]] + casino_log_emit[t, path[t]] for t in range(1, 10)))
    assert np.isclose(score, own), f'log_prob should be the joint log probability of the returned path, {own:.6f}, got {score}'

