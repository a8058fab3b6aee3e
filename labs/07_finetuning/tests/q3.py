from otter.test_files import test_case

OK_FORMAT = False

name = "q3"
points = None

@test_case(points=1, hidden=False)
def test_pool_right_padding(last_token_states):
    import torch
    hidden = torch.arange(24.0).reshape(2, 4, 3)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]])
    got = last_token_states(hidden, mask)
    want = torch.stack([hidden[0, 2], hidden[1, 3]])
    assert isinstance(got, torch.Tensor) and got.shape == (2, 3), f"hidden (2, 4, 3) should give (2, 3), got {getattr(got, 'shape', got)}"
    assert torch.equal(got, want), f'with right padding (mask {mask.tolist()}) the rows should be hidden[0, 2] and hidden[1, 3] = {want.tolist()}, got {got.tolist()}'

@test_case(points=1, hidden=False)
def test_step_loss(classification_step):
    import copy
    import torch
    import torch.nn.functional as F

    class Backbone(torch.nn.Module):
        """Token embeddings plus a function of the running mean of the real tokens so far."""

        def __init__(self):
            super().__init__()
            g = torch.Generator().manual_seed(0)
            self.emb = torch.nn.Parameter(torch.randn(10, 4, generator=g, dtype=torch.float64))
            self.mix = torch.nn.Parameter(torch.randn(4, 4, generator=g, dtype=torch.float64))

        def forward(self, input_ids, attention_mask):
            real = attention_mask.to(torch.float64).unsqueeze(-1)
            x = self.emb[input_ids] * real
            mean = x.cumsum(1) / real.cumsum(1).clamp(min=1)
            return torch.tanh(mean @ self.mix) + x

    def models():
        torch.manual_seed(0)
        return (Backbone(), torch.nn.Linear(4, 3).double())

    def reference_step(backbone, head, optimizer, ids, mask, labels):
        hidden = backbone(ids, mask)
        last = torch.where(mask.bool(), torch.arange(mask.shape[1]), -1).max(1).values
        loss = F.cross_entropy(head(hidden[torch.arange(len(ids)), last]), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()
    ids = torch.tensor([[3, 5, 7, 2, 0, 0], [4, 4, 1, 8, 9, 6], [2, 9, 0, 0, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0]])
    labels = torch.tensor([2, 0, 1])
    (backbone, head), ref = (models(), models())
    optimizer = torch.optim.SGD([*backbone.parameters(), *head.parameters()], lr=0.1)
    want = reference_step(*ref, torch.optim.SGD([*ref[0].parameters(), *ref[1].parameters()], lr=0.1), ids, mask, labels)
    got = classification_step(backbone, head, optimizer, ids, mask, labels)
    assert isinstance(got, float), f'classification_step should return the loss as a Python float, got {type(got).__name__}'
    assert abs(got - want) < 1e-09, f'the mean cross-entropy of the logits at the last real tokens should be {want:.6f}, got {got:.6f}'

