from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = None

@test_case(points=1, hidden=False)
def test_q4_identical_corpus_scores_100(corpus_bleu):
    refs = ['the cat is on the mat'.split(), 'there is a cat on the mat'.split()]
    got = corpus_bleu(refs, refs)
    assert abs(got - 100.0) < 1e-09, f'hypotheses identical to their references should score 100.0, got {got}'

