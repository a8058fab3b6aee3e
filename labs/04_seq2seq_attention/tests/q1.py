from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = None

@test_case(points=1, hidden=False)
def test_q1_shapes_and_row_sums(BahdanauAttention):
    import keras
    import numpy as np
    g = np.random.default_rng(10)
    query = g.normal(size=(2, 3, 5)).astype('float32')
    keys = g.normal(size=(2, 4, 6)).astype('float32')
    out = BahdanauAttention(7)(query, keys)
    assert isinstance(out, (tuple, list)) and len(out) == 2, f'call should return the pair (context, weights), got {type(out).__name__}'
    context, weights = (keras.ops.convert_to_numpy(t) for t in out)
    assert context.shape == (2, 3, 6), f'query (2, 3, 5) and keys (2, 4, 6) should give a context of shape (2, 3, 6), got {context.shape}'
    assert weights.shape == (2, 3, 4), f'query (2, 3, 5) and keys (2, 4, 6) should give weights of shape (2, 3, 4), got {weights.shape}'
    assert np.allclose(weights.sum(-1), 1, atol=1e-05), f"each query's weights should sum to 1 over the 4 source positions, got sums {np.round(weights.sum(-1), 3).tolist()}"

