from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = None

@test_case(points=1, hidden=False)
def test_q5_step_shapes(make_step):
    import keras
    import numpy as np
    from lmbook.seq2seq import Seq2Seq
    keras.utils.set_random_seed(3)
    model = Seq2Seq(12, 9, embed_dim=8, units=16, attention='bahdanau')
    src = np.array([[3, 4, 5, 6, 7], [5, 6, 0, 0, 0], [9, 10, 11, 0, 0]], dtype='int32')
    tgt_in = np.array([[1, 4, 5, 6], [1, 7, 3, 3], [1, 8, 8, 5]], dtype='int32')
    out = make_step(model, src)
    assert isinstance(out, (tuple, list)) and len(out) == 2, f'make_step should return the pair (step, state), got {type(out).__name__}'
    step, state = out
    logits, state = step(tgt_in[:, 0], state)
    shape = tuple(keras.ops.convert_to_numpy(logits).shape)
    assert shape == (3, 9), f'one step for a batch of 3 with 9 target symbols should give logits of shape (3, 9), got {shape}'
    logits, state = step(tgt_in[:, 1], state)
    assert tuple(keras.ops.convert_to_numpy(logits).shape) == (3, 9), 'a second step with the returned state should work too'

