from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = None

@test_case(points=1, hidden=False)
def test_continuation_prob_counts_types(continuation_prob):
    import math
    counts = {('<s>', 'a'): 2, ('a', 'b'): 1, ('b', 'a'): 2, ('a', '</s>'): 2, ('<s>', 'b'): 1, ('a', 'c'): 1, ('c', '</s>'): 1}
    for word, want in [('a', 2 / 7), ('b', 2 / 7), ('c', 1 / 7), ('</s>', 2 / 7)]:
        got = continuation_prob(counts, word)
        assert math.isclose(got, want), f'continuation_prob(counts, {word!r}) should be {want:.4f} (distinct left neighbours / 7 bigram types), got {got}'

