from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = None

@test_case(points=1, hidden=False)
def test_perplexity_uniform(perplexity):
    import math
    model = {'a': 0.25, 'b': 0.25, 'c': 0.25, 'd': 0.25}
    sentence = ['a', 'b', 'd']
    got = perplexity(model, sentence)
    assert isinstance(got, float), f'perplexity should return a float, got {type(got).__name__}'
    assert math.isclose(got, 4.0), f'perplexity of a uniform model over 4 words on {sentence} should be 4.0, got {got}'

@test_case(points=1, hidden=False)
def test_perplexity_small(perplexity):
    import math
    model = {'a': 0.5, 'b': 0.25, 'c': 0.25}
    got = perplexity(model, ['a', 'b'])
    want = math.sqrt(8)
    assert math.isclose(got, want), f"perplexity({model}, ['a', 'b']) should be (0.5 * 0.25) ** (-1/2) = {want:.6f}, got {got}"

