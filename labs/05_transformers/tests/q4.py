from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = None

@test_case(points=1, hidden=False)
def test_loss_values(next_token_loss):
    import math
    import torch
    logits = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    targets = torch.tensor([[0, 2]])
    got = next_token_loss(logits, targets)
    want = (-(2 - math.log(math.exp(2) + 2)) + math.log(3)) / 2
    assert isinstance(got, torch.Tensor) and got.dim() == 0, f'next_token_loss should return a 0-d tensor, got {got!r}'
    assert math.isclose(got.item(), want, rel_tol=1e-05), f'logits [[[2, 0, 0], [0, 0, 0]]] with targets [[0, 2]] should give the mean cross-entropy {want:.5f}, got {got.item()}'

