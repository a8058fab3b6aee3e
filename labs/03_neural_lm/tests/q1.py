from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = None

@test_case(points=1, hidden=False)
def test_q1_loss_value(softmax_cross_entropy):
    import numpy as np
    z = np.array([[1.0, 2.0, 0.5], [0.0, 0.0, 0.0]])
    loss, grad = softmax_cross_entropy(z, np.array([1, 2]))
    want = -(np.log(np.exp(2.0) / np.exp(z[0]).sum()) + np.log(1 / 3)) / 2
    assert abs(loss - want) < 1e-10, f'the mean loss for this example should be {want:.6f}, got {loss}'
    assert np.shape(grad) == (2, 3), f'the gradient should have the shape of the logits (2, 3), got {np.shape(grad)}'

