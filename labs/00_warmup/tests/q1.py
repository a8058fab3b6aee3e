from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = None

@test_case(points=1, hidden=False)
def test_log_softmax_small(log_softmax):
    import numpy as np
    got = log_softmax([1.0, 2.0, 3.0])
    assert isinstance(got, np.ndarray), f'log_softmax([1.0, 2.0, 3.0]) should return a NumPy array, got {type(got).__name__}'
    assert got.shape == (3,), f'log_softmax([1.0, 2.0, 3.0]) should have shape (3,), got {got.shape}'
    want = np.array([-2.40760596, -1.40760596, -0.40760596])
    assert np.allclose(got, want), f'log_softmax([1.0, 2.0, 3.0]) should be {want}, got {got}'

@test_case(points=1, hidden=False)
def test_log_softmax_rows(log_softmax):
    import numpy as np
    logits = np.array([[0.0, 0.0], [1.0, 3.0]])
    got = log_softmax(logits)
    assert isinstance(got, np.ndarray) and got.shape == (2, 2), f'log_softmax of a (2, 2) array should return a (2, 2) array, got {got!r}'
    sums = np.exp(got).sum(axis=-1)
    assert np.allclose(sums, 1.0), f'each row of exp(log_softmax({logits.tolist()})) should sum to 1 (softmax over the last axis), got row sums {sums}'
    want = np.log([[0.5, 0.5], [1 / (1 + np.e ** 2), np.e ** 2 / (1 + np.e ** 2)]])
    assert np.allclose(got, want), f'log_softmax({logits.tolist()}) should be {want.tolist()}, got {got.tolist()}'

