from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = None

@test_case(points=1, hidden=False)
def test_nucleus_example(nucleus_probs):
    import torch
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.2]], dtype=torch.float64))
    got = nucleus_probs(logits, 0.7)
    want = torch.tensor([[0.625, 0.375, 0.0]], dtype=torch.float64)
    assert isinstance(got, torch.Tensor) and got.shape == (1, 3), f"nucleus_probs of logits (1, 3) should be a (1, 3) tensor, got {getattr(got, 'shape', got)}"
    assert torch.allclose(got, want, atol=1e-09), f'probabilities [0.5, 0.3, 0.2] with p = 0.7: the nucleus is the first two tokens (0.5 + 0.3 = 0.8 >= 0.7), renormalised to [0.625, 0.375, 0]; got {got.tolist()}'
    assert got.dtype == torch.float64, f'the probabilities should keep the dtype of the logits (float64), got {got.dtype}'

@test_case(points=0.5, hidden=False)
def test_nucleus_p_one_keeps_all(nucleus_probs):
    import torch
    inf = float('inf')
    logits = torch.tensor([[0.0] * 8, [0.0, -inf, 0.0, -inf, 0.0, 0.0, -inf, -inf]], dtype=torch.float64)
    got = nucleus_probs(logits, 1.0)
    want = torch.tensor([[0.125] * 8, [0.25, 0.0, 0.25, 0.0, 0.25, 0.25, 0.0, 0.0]], dtype=torch.float64)
    assert torch.allclose(got, want, atol=1e-12), f'p = 1 keeps every token: logits {logits.tolist()} should give the softmax itself, {want.tolist()}, got {got.tolist()}'

