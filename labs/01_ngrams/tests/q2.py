from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = None

@test_case(points=1, hidden=False)
def test_add_one_bigram(add_k_prob):
    import math
    counts = {('<s>', 'a'): 2, ('a', 'b'): 1, ('b', 'a'): 2, ('a', '</s>'): 2, ('<s>', 'b'): 1, ('a', 'c'): 1, ('c', '</s>'): 1}
    got = add_k_prob(counts, ('a',), 'b', 1, 4)
    assert math.isclose(got, 2 / 8), f"add_k_prob(counts, ('a',), 'b', 1, 4) should be (1 + 1) / (4 + 1 * 4) = 0.25, got {got}"
    got = add_k_prob(counts, ('<s>',), 'c', 0.5, 4)
    assert math.isclose(got, 0.5 / 5), f"add_k_prob(counts, ('<s>',), 'c', 0.5, 4) should be (0 + 0.5) / (3 + 0.5 * 4) = 0.1, got {got}"

