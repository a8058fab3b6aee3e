from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = None

@test_case(points=1, hidden=False)
def test_q2_loss(mlp_loss_and_grads):
    import numpy as np
    g = np.random.default_rng(2)
    p = {'W1': g.normal(size=(3, 4)), 'b1': g.normal(size=4), 'W2': g.normal(size=(4, 5)), 'b2': g.normal(size=5)}
    x, y = (g.normal(size=(6, 3)), g.integers(0, 5, 6))
    z = np.tanh(x @ p['W1'] + p['b1']) @ p['W2'] + p['b2']
    want = -np.mean(z[np.arange(6), y] - np.log(np.exp(z).sum(1)))
    loss, grads = mlp_loss_and_grads(x, y, p)
    assert abs(loss - want) < 1e-10, f'the loss should be {want:.6f}, got {loss}'
    assert {k: np.shape(v) for k, v in grads.items()} == {k: v.shape for k, v in p.items()}, 'grads must have the keys and shapes of params'

