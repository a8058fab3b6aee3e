from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = None

@test_case(points=1, hidden=False)
def test_q3_identical_sentences(modified_precision, brevity_penalty):
    import math
    words = 'a b c d'.split()
    got = modified_precision(words, words, 2)
    assert tuple(got) == (3, 3), f'a hypothesis equal to its reference {words} has 3 bigrams, all matching: (3, 3), got {got}'
    got = modified_precision('x a b y'.split(), words, 1)
    assert tuple(got) == (2, 4), f"hypothesis ['x', 'a', 'b', 'y'] against {words}, unigrams: 2 of 4 match, (2, 4), got {got}"
    for c, r in [(12, 10), (10, 10)]:
        got = brevity_penalty(c, r)
        assert math.isclose(got, 1.0), f'brevity_penalty({c}, {r}): a hypothesis at least as long as its reference is not penalised (1.0), got {got}'

