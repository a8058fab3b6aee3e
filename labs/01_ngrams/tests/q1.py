from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = None

@test_case(points=1, hidden=False)
def test_count_bigrams(count_ngrams):
    corpus = [['a', 'b', 'a'], ['b', 'a'], ['a', 'c']]
    got = count_ngrams(corpus, 2)
    want = {('<s>', 'a'): 2, ('a', 'b'): 1, ('b', 'a'): 2, ('a', '</s>'): 2, ('<s>', 'b'): 1, ('a', 'c'): 1, ('c', '</s>'): 1}
    assert isinstance(got, dict), f'count_ngrams should return a Counter (a dict), got {type(got).__name__}'
    assert dict(got) == want, f'count_ngrams({corpus}, 2) should be {want}, got {dict(got)}'

