from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = None

@test_case(points=1, hidden=False)
def test_attention_matches_pytorch(scaled_dot_product_attention):
    import torch
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 3, 5, 8, generator=g, dtype=torch.float64) for _ in range(3))
    got = scaled_dot_product_attention(q, k, v)
    want = F.scaled_dot_product_attention(q, k, v)
    assert isinstance(got, torch.Tensor) and got.shape == want.shape, f"the output for q, k, v of shape (2, 3, 5, 8) should have shape {tuple(want.shape)}, got {getattr(got, 'shape', got)}"
    assert torch.allclose(got, want, atol=1e-10), f"without a mask the output should equal PyTorch's scaled_dot_product_attention; largest difference {(got - want).abs().max().item():.3g}"

@test_case(points=1, hidden=False)
def test_attention_causal(scaled_dot_product_attention):
    import torch
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(2)
    q, k, v = (torch.randn(2, 4, 6, generator=g, dtype=torch.float64) for _ in range(3))
    got = scaled_dot_product_attention(q, k, v, causal=True)
    want = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    assert torch.allclose(got, want, atol=1e-10), f"with causal=True the output should equal PyTorch's with is_causal=True; largest difference {(got - want).abs().max().item():.3g}"

