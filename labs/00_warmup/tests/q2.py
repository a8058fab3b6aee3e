from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = None

@test_case(points=1, hidden=False)
def test_sample_categorical_shape(sample_categorical):
    import numpy as np
    got = sample_categorical([0.2, 0.3, 0.5], 8, seed=1)
    assert isinstance(got, np.ndarray), f'sample_categorical([0.2, 0.3, 0.5], 8, seed=1) should return a NumPy array, got {type(got).__name__}'
    assert got.shape == (8,), f'sample_categorical([0.2, 0.3, 0.5], 8, seed=1) should have shape (8,), got {got.shape}'
    assert got.dtype.kind in 'iu', f'samples should be integers, got dtype {got.dtype}'
    assert got.min() >= 0 and got.max() <= 2, f'samples of a 3-category distribution should lie in 0..2, got {got}'
    again = sample_categorical([0.2, 0.3, 0.5], 8, seed=1)
    assert np.array_equal(got, again), f'the same seed should give the same samples, got {got} then {again}'

@test_case(points=2, hidden=False)
def test_sample_categorical_inverse_cdf(sample_categorical):
    import numpy as np
    probs = [0.1, 0.2, 0.7]
    u = np.random.default_rng(0).random(6)
    want = np.searchsorted(np.cumsum(probs), u, side='right')
    got = sample_categorical(probs, 6, seed=0)
    assert np.array_equal(got, want), f'sample_categorical({probs}, 6, seed=0) should use u = default_rng(0).random(6) = {np.round(u, 3)} and return {want}, got {got}'

