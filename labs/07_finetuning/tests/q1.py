from otter.test_files import test_case

OK_FORMAT = False

name = "q1"
points = None

@test_case(points=1, hidden=False)
def test_lora_starts_as_the_base_layer(LoRALinear):
    import torch
    torch.manual_seed(0)
    base = torch.nn.Linear(16, 8)
    layer = LoRALinear(base, r=2, alpha=4)
    assert getattr(layer, 'base', None) is base, 'LoRALinear(base) should keep base as the attribute self.base'
    A, B = (getattr(layer, 'lora_A', None), getattr(layer, 'lora_B', None))
    assert isinstance(A, torch.nn.Parameter) and tuple(A.shape) == (2, 16), f"lora_A should be an nn.Parameter of shape (r, in_features) = (2, 16), got {type(A).__name__} {tuple(getattr(A, 'shape', ()))}"
    assert isinstance(B, torch.nn.Parameter) and tuple(B.shape) == (8, 2), f"lora_B should be an nn.Parameter of shape (out_features, r) = (8, 2), got {type(B).__name__} {tuple(getattr(B, 'shape', ()))}"
    assert torch.all(B == 0), 'lora_B should start at zero, so that the layer first computes what base computes'
    x = torch.randn(3, 16)
    got = layer(x)
    assert isinstance(got, torch.Tensor) and got.shape == (3, 8), f"x of shape (3, 16) should give (3, 8), got {getattr(got, 'shape', got)}"
    assert torch.allclose(got, base(x)), 'at the start (B = 0) the layer should compute exactly base(x)'

@test_case(points=1, hidden=False)
def test_lora_trains_only_the_adapters(LoRALinear):
    import torch
    layer = LoRALinear(torch.nn.Linear(16, 8), r=2, alpha=4)
    n = sum((p.numel() for p in layer.parameters() if p.requires_grad))
    assert not layer.base.weight.requires_grad and (not layer.base.bias.requires_grad), "base's weight and bias should be frozen (requires_grad False)"
    assert n == 2 * (16 + 8), f'Linear(16, 8) with r = 2 should have r * (16 + 8) = 48 trainable numbers, got {n}'

