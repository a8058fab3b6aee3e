from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = None

@test_case(points=1, hidden=False)
def test_labels_of_one_example(answer_only_labels):
    import torch
    ids = torch.tensor([[1, 2, 4, 5, 6, 7, 8, 0, 4, 1, 3, 4, 11, 0]])
    got = answer_only_labels(ids, [12], torch.ones_like(ids))
    want = [[-100] * 12 + [11, 0]]
    assert isinstance(got, torch.Tensor) and got.tolist() == want, f'ids {ids.tolist()} with a 12-token prompt should give {want}, got {(got.tolist() if isinstance(got, torch.Tensor) else got)}'

