from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = None

@test_case(points=0.5, hidden=False)
def test_cache_first_token(attention_with_cache):
    import torch
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(2, 1, 8, generator=g, dtype=torch.float64) for _ in range(3))
    out, (keys, values) = attention_with_cache(q, k, v, None, 2)
    assert out.shape == (2, 1, 8), f'out should have shape (B, 1, d_model) = (2, 1, 8), got {tuple(out.shape)}'
    assert keys.shape == (2, 2, 1, 4) and values.shape == (2, 2, 1, 4), f'after the first token the cache should hold (B, num_heads, 1, d_head) = (2, 2, 1, 4), got {tuple(keys.shape)} and {tuple(values.shape)}'
    assert torch.allclose(out, v, atol=1e-12), 'with one position only, attention gives all its weight to it: out should equal v'

@test_case(points=1, hidden=False)
def test_cache_matches_full_attention(attention_with_cache):
    import torch
    import torch.nn.functional as F
    g = torch.Generator().manual_seed(2)
    B, T, d_model, H = (2, 5, 12, 3)
    q, k, v = (torch.randn(B, T, d_model, generator=g, dtype=torch.float64) for _ in range(3))
    heads = lambda x: x.view(B, T, H, d_model // H).transpose(1, 2)
    full = F.scaled_dot_product_attention(heads(q), heads(k), heads(v), is_causal=True)
    want = full.transpose(1, 2).reshape(B, T, d_model)[:, -1:]
    cache = (heads(k)[:, :, :-1], heads(v)[:, :, :-1])
    got, _ = attention_with_cache(q[:, -1:], k[:, -1:], v[:, -1:], cache, H)
    assert got.shape == (B, 1, d_model), f'out should have shape (2, 1, 12), got {tuple(got.shape)}'
    assert torch.allclose(got, want, atol=1e-10), f"with 4 cached positions, the new token's output should equal the last row of full causal attention (3 heads of width 4); largest difference {(got - want).abs().max().item():.3g}"

