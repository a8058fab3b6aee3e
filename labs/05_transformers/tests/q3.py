from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = None

@test_case(points=2, hidden=False)
def test_pe_values(sinusoidal_encoding):
    import math
    import torch

    def reference(max_len, d_model):
        return torch.tensor([[math.sin(p / 10000 ** (2 * (j // 2) / d_model)) if j % 2 == 0 else math.cos(p / 10000 ** (2 * (j // 2) / d_model)) for j in range(d_model)] for p in range(max_len)])
    got = sinusoidal_encoding(50, 16)
    want = reference(50, 16)
    assert isinstance(got, torch.Tensor) and tuple(got.shape) == (50, 16), f"sinusoidal_encoding(50, 16) should be a tensor of shape (50, 16), got {getattr(got, 'shape', got)}"
    assert torch.allclose(got.double(), want.double(), atol=1e-05), f'sinusoidal_encoding(50, 16) row 1 should be {want[1].round(decimals=4).tolist()}, got {got[1].double().round(decimals=4).tolist()}'

@test_case(points=1, hidden=False)
def test_pe_dtype_and_first_row(sinusoidal_encoding):
    import math
    import torch

    def reference(max_len, d_model):
        return torch.tensor([[math.sin(p / 10000 ** (2 * (j // 2) / d_model)) if j % 2 == 0 else math.cos(p / 10000 ** (2 * (j // 2) / d_model)) for j in range(d_model)] for p in range(max_len)])
    got = sinusoidal_encoding(3, 8)
    assert got.dtype == torch.float32, f'the encoding should be float32, got {got.dtype}'
    assert got[0].tolist() == [0.0, 1.0] * 4, f'position 0 should be [0, 1, 0, 1, ...] (sin 0, cos 0), got {got[0].tolist()}'

