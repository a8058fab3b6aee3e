from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = None

@test_case(points=1, hidden=False)
def test_perplexity_uniform(perplexity):
    import math
    got = perplexity([math.log(0.25)] * 3, base=math.e)
    assert isinstance(got, float), f'perplexity should return a float, got {type(got).__name__}'
    assert math.isclose(got, 4.0), f'three tokens of probability 1/4 (natural logs, base=math.e) should give perplexity 4.0, got {got}'
    got = perplexity([math.log(0.5), math.log(0.125)], base=math.e)
    assert math.isclose(got, 4.0), f'probabilities 1/2 and 1/8 should give perplexity (1/16) ** (-1/2) = 4.0, got {got}'

