from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = None

@test_case(points=1, hidden=False)
def test_q4_logits_shape(make_mlp_lm):
    import keras
    import numpy as np
    model = make_mlp_lm(50, 3)
    out = keras.ops.convert_to_numpy(model(np.zeros((2, 3), dtype='int32')))
    assert out.shape == (2, 50), f'ids of shape (2, 3) should give logits of shape (2, 50), got {out.shape}'
    probs_like = np.all(out >= 0) and np.allclose(out.sum(1), 1, atol=0.0001)
    assert not probs_like, 'the model should return logits, not probabilities: no softmax on the output layer'

