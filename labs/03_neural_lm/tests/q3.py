from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = None

@test_case(points=1, hidden=False)
def test_q3_shapes(lstm_step):
    import numpy as np
    g = np.random.default_rng(4)
    x, h, c = (g.normal(size=s).astype('float32') for s in [(5, 3), (5, 2), (5, 2)])
    w = [g.normal(size=s).astype('float32') for s in [(3, 8), (2, 8), (8,)]]
    h1, c1 = lstm_step(x, h, c, *w)
    assert tuple(h1.shape) == (5, 2) and tuple(c1.shape) == (5, 2), f'h_new and c_new should have shape (5, 2), got {tuple(h1.shape)} and {tuple(c1.shape)}'

