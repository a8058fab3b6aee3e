from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = None

@test_case(points=1, hidden=False)
def test_mha_matches_pytorch(multi_head_attention):
    import torch

    def pair(d_model, num_heads, seed):
        torch.manual_seed(seed)
        ref = torch.nn.MultiheadAttention(d_model, num_heads, batch_first=True).double().eval()
        with torch.no_grad():
            ref.in_proj_bias.normal_()
            ref.out_proj.bias.normal_()
        weights = (ref.in_proj_weight.detach(), ref.in_proj_bias.detach(), ref.out_proj.weight.detach(), ref.out_proj.bias.detach())
        return (ref, weights)
    ref, w = pair(12, 3, 0)
    x = torch.randn(2, 5, 12, dtype=torch.float64)
    want, _ = ref(x, x, x, need_weights=False)
    got = multi_head_attention(x, *w, 3)
    assert isinstance(got, torch.Tensor) and got.shape == (2, 5, 12), f"x of shape (2, 5, 12) should give (2, 5, 12), got {getattr(got, 'shape', got)}"
    assert torch.allclose(got, want, atol=1e-10), f'd_model=12, num_heads=3: the output differs from nn.MultiheadAttention with the same weights; largest difference {(got - want).abs().max().item():.3g}'

@test_case(points=1, hidden=False)
def test_mha_causal(multi_head_attention):
    import torch

    def pair(d_model, num_heads, seed):
        torch.manual_seed(seed)
        ref = torch.nn.MultiheadAttention(d_model, num_heads, batch_first=True).double().eval()
        with torch.no_grad():
            ref.in_proj_bias.normal_()
            ref.out_proj.bias.normal_()
        weights = (ref.in_proj_weight.detach(), ref.in_proj_bias.detach(), ref.out_proj.weight.detach(), ref.out_proj.bias.detach())
        return (ref, weights)
    ref, w = pair(16, 4, 1)
    x = torch.randn(3, 6, 16, dtype=torch.float64)
    forbidden = torch.ones(6, 6, dtype=torch.bool).triu(1)
    want, _ = ref(x, x, x, attn_mask=forbidden, need_weights=False)
    got = multi_head_attention(x, *w, 4, causal=True)
    assert torch.allclose(got, want, atol=1e-10), f'd_model=16, num_heads=4, causal=True: the output differs from nn.MultiheadAttention with a causal mask; largest difference {(got - want).abs().max().item():.3g}'

