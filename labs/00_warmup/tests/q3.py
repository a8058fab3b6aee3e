from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = None

@test_case(points=1, hidden=False)
def test_entropy_bits(entropy, cross_entropy):
    import numpy as np
    for p, want in [([0.5, 0.5], 1.0), ([0.25] * 4, 2.0), ([0.5, 0.25, 0.25], 1.5)]:
        got = entropy(p)
        assert np.isclose(got, want), f'entropy({p}) should be {want} bits (base 2 is the default), got {got}'
    got = cross_entropy([0.5, 0.5], [0.25, 0.75])
    want = -0.5 * np.log2(0.25) - 0.5 * np.log2(0.75)
    assert np.isclose(got, want), f'cross_entropy([0.5, 0.5], [0.25, 0.75]) should be {want:.6f} bits, got {got}'

@test_case(points=1, hidden=False)
def test_entropy_nats(entropy, cross_entropy):
    import numpy as np
    got = entropy([0.5, 0.5], base=np.e)
    assert np.isclose(got, np.log(2)), f'entropy([0.5, 0.5], base=np.e) should be ln 2 = {np.log(2):.6f} nats, got {got}'
    p = [0.2, 0.3, 0.5]
    got, want = (cross_entropy(p, p, base=np.e), entropy(p, base=np.e))
    assert np.isclose(got, want), f'cross_entropy(p, p) should equal entropy(p) for p = {p}, got {got} and {want}'

