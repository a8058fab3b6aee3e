from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = None

@test_case(points=1, hidden=False)
def test_merge_pair_basics(merge_pair):
    symbols = ['l', 'o', 'w', 'e', 'r</w>']
    got = merge_pair(symbols, ('e', 'r</w>'))
    assert got == ['l', 'o', 'w', 'er</w>'], f"merge_pair(['l', 'o', 'w', 'e', 'r</w>'], ('e', 'r</w>')) should be ['l', 'o', 'w', 'er</w>'], got {got}"
    assert symbols == ['l', 'o', 'w', 'e', 'r</w>'], f'merge_pair must not change its input list; it became {symbols}'
    got = merge_pair(['t', 'h', 'e', 't', 'h', 'e</w>'], ('t', 'h'))
    assert got == ['th', 'e', 'th', 'e</w>'], f"every occurrence is merged: merge_pair(['t', 'h', 'e', 't', 'h', 'e</w>'], ('t', 'h')) should be ['th', 'e', 'th', 'e</w>'], got {got}"
    got = merge_pair(['a', 'b</w>'], ('b', 'a'))
    assert got == ['a', 'b</w>'], f"a pair that does not occur leaves the symbols as they are: expected ['a', 'b</w>'], got {got}"

@test_case(points=1, hidden=False)
def test_learn_bpe_toy(learn_bpe):
    toy = {'low': 5, 'lower': 2, 'newest': 6, 'widest': 3}
    want = [('e', 's'), ('es', 't</w>'), ('l', 'o'), ('e', 'w'), ('ew', 'est</w>'), ('n', 'ewest</w>'), ('lo', 'w</w>'), ('d', 'est</w>'), ('i', 'dest</w>'), ('w', 'idest</w>')]
    got = learn_bpe(toy, 10)
    assert isinstance(got, list) and len(got) == 10, f'learn_bpe(toy, 10) should return a list of 10 merges, got {got!r}'
    got = [tuple(m) for m in got]
    first_bad = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), None)
    assert got == want, f'learn_bpe({toy}, 10) should give {want}; merge {first_bad} differs: expected {want[first_bad]}, got {got[first_bad]}'

