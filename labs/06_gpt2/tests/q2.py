from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = None

@test_case(points=1, hidden=False)
def test_encode_toy(bpe_encode):
    merges = [('e', 's'), ('es', 't</w>'), ('l', 'o'), ('e', 'w'), ('ew', 'est</w>'), ('n', 'ewest</w>'), ('lo', 'w</w>'), ('d', 'est</w>'), ('i', 'dest</w>'), ('w', 'idest</w>')]
    for word, want in [('lowest', ['lo', 'w', 'est</w>']), ('newer', ['n', 'ew', 'e', 'r</w>']), ('slow', ['s', 'low</w>']), ('widest', ['widest</w>'])]:
        got = bpe_encode(word, merges)
        assert list(got) == want, f'bpe_encode({word!r}, merges learned from the toy table) should be {want}, got {got}'

