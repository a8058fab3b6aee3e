from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = None

@test_case(points=1, hidden=False)
def test_sentence_logprobs_bigram(sentence_logprobs):
    import math
    table = {('<s>',): {'a': 0.5, 'b': 0.5}, ('a',): {'b': 0.25, '</s>': 0.75}, ('b',): {'a': 0.5, '</s>': 0.5}}
    prob = lambda word, context: table.get(context, {}).get(word, 0.0)
    got = sentence_logprobs(prob, ['a', 'b'], 2)
    want = [math.log2(0.5), math.log2(0.25), math.log2(0.5)]
    assert len(got) == 3, f"sentence_logprobs(prob, ['a', 'b'], 2) should return 3 numbers (2 words + '</s>'), got {got}"
    assert all((math.isclose(g, w) for g, w in zip(got, want))), f"sentence_logprobs(prob, ['a', 'b'], 2) should be {want} (base 2), got {got}"

