from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = None

@test_case(points=2, hidden=False)
def test_unigram_model_counts(unigram_model):
    import math
    tokens = 'the cat sat on the mat'.split()
    got = unigram_model(tokens)
    assert isinstance(got, dict), f'unigram_model should return a dict, got {type(got).__name__}'
    want = {'the': 2 / 6, 'cat': 1 / 6, 'sat': 1 / 6, 'on': 1 / 6, 'mat': 1 / 6}
    assert set(got) == set(want), f'unigram_model({tokens}) should have keys {sorted(want)}, got {sorted(got)}'
    for w in want:
        assert math.isclose(got[w], want[w]), f'unigram_model({tokens})[{w!r}] should be {want[w]:.4f}, got {got[w]}'

