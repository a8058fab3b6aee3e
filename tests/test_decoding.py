"""lmbook.decoding: samplers, beam search and the KV cache on a tiny model."""

import pytest
import torch

from lmbook import decoding as dec
from lmbook import gpt2

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = gpt2.GPT2Config(
        vocab_size=40, context_length=48, d_model=32, num_heads=4, num_layers=2
    )
    return gpt2.GPT2(config).eval()


def test_top_p_keeps_smallest_set_with_mass_p():
    probs = torch.tensor([[0.05, 0.4, 0.25, 0.2, 0.1]])
    logits = probs.log()
    cases = [
        (0.39, {1}),
        (0.41, {1, 2}),
        (0.64, {1, 2}),
        (0.66, {1, 2, 3}),
        (0.86, {1, 2, 3, 4}),
        (0.96, {0, 1, 2, 3, 4}),
    ]
    for p, kept in cases:
        out = dec.top_p_filter(logits, p)
        assert set(torch.isfinite(out[0]).nonzero().flatten().tolist()) == kept, p
    rand = torch.randn(6, 30, generator=torch.Generator().manual_seed(0))
    for p in (0.1, 0.5, 0.9):
        out = dec.top_p_filter(rand, p)
        probs = rand.softmax(-1)
        kept = torch.isfinite(out)
        mass = (probs * kept).sum(-1)
        assert (mass >= p - 1e-6).all()
        # dropping the least likely kept token would fall below p
        smallest = torch.where(kept, probs, torch.inf).min(-1).values
        assert (mass - smallest < p).all()


def test_top_p_p1_keeps_all():
    # a peaked distribution over a large vocabulary: the float32 cumsum reaches
    # 1.0 long before the last token, which must still be kept at p = 1
    logits = torch.randn(2, 49152, generator=torch.Generator().manual_seed(0)) * 8
    out = dec.top_p_filter(logits, 1.0)
    assert torch.equal(out, logits)
    assert torch.isfinite(out).all()


def test_top_k_and_repetition_penalty():
    logits = torch.tensor([[1.0, 3.0, 2.0, -1.0]])
    assert torch.isfinite(dec.top_k_filter(logits, 2)).tolist() == [
        [False, True, True, False]
    ]
    out = dec.apply_repetition_penalty(logits, torch.tensor([[1, 3]]), 2.0)
    assert out.tolist() == [[1.0, 1.5, 2.0, -2.0]]


def test_kv_cache_same_tokens_as_no_cache(model):
    idx = torch.tensor([[1, 2, 3], [4, 5, 6]])
    a = dec.generate(model, idx, 15)
    b = dec.generate(model, idx, 15, use_cache=False)
    assert torch.equal(a, b)
    g1, g2 = (torch.Generator().manual_seed(3) for _ in range(2))
    s1 = dec.generate(
        model,
        idx,
        10,
        temperature=0.8,
        top_k=10,
        top_p=0.9,
        repetition_penalty=1.2,
        generator=g1,
    )
    s2 = dec.generate(
        model,
        idx,
        10,
        temperature=0.8,
        top_k=10,
        top_p=0.9,
        repetition_penalty=1.2,
        generator=g2,
        use_cache=False,
    )
    assert torch.equal(s1, s2)


def test_eos_stops_and_pads(model):
    idx = torch.tensor([[1, 2, 3]])
    greedy = dec.generate(model, idx, 6)
    eos = int(greedy[0, 4])
    out = dec.generate(model, idx, 6, eos_id=eos)
    assert out[0, -1].item() == eos and out.size(1) <= greedy.size(1)


def test_beam_search(model):
    idx = torch.tensor([[7, 8]])
    one, _ = dec.beam_search(model, idx, 8, num_beams=1)
    assert torch.equal(one, dec.generate(model, idx, 8))
    four, score4 = dec.beam_search(model, idx, 8, num_beams=4)

    def logprob(seq):
        with torch.no_grad():
            lp = model(seq[:, :-1]).log_softmax(-1)
        return lp[0, 1:].gather(-1, seq[0, 2:, None]).sum().item()

    assert logprob(four) >= logprob(one) - 1e-5
    assert score4 == pytest.approx(logprob(four) / 8, abs=1e-4)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"temperature": -1.0}, ValueError),
        ({"top_k": 0, "temperature": 1.0}, ValueError),
        ({"top_p": 1.5, "temperature": 1.0}, ValueError),
        ({"repetition_penalty": 0.0}, ValueError),
    ],
)
def test_bad_settings(model, kwargs, error):
    with pytest.raises(error):
        dec.generate(model, torch.tensor([[1, 2]]), 2, **kwargs)


def test_token_nll_with_one_window_equals_full_forward(model):
    ids = torch.randint(0, 40, (30,), generator=torch.Generator().manual_seed(4))
    nll = dec.token_nll(model, ids, window=48, stride=8)
    with torch.no_grad():
        logp = model(ids[None])[0, :-1].double().log_softmax(-1)
    expected = -logp.gather(-1, ids[1:, None])[:, 0]
    assert nll.dtype == torch.float64 and nll.shape == (29,)
    torch.testing.assert_close(nll, expected, atol=1e-5, rtol=0)


def test_token_nll_sliding_windows_use_the_stated_context(model):
    ids = torch.randint(0, 40, (45,), generator=torch.Generator().manual_seed(5))
    window, stride = 12, 5
    nll = dec.token_nll(model, ids, window=window, stride=stride)
    # brute force: token i of a later window [end - window, end) sees ids[begin:i]
    expected, end, scored = [], min(window, 45), 1
    while scored < 45:
        begin = max(0, end - window)
        for i in range(scored, end):
            with torch.no_grad():
                logits = model(ids[None, begin:i])[0, -1].double()
            expected.append(-logits.log_softmax(-1)[ids[i]].item())
            assert i - begin >= min(i, window - stride)  # enough context
        scored, end = end, min(end + stride, 45)
    torch.testing.assert_close(
        nll, torch.tensor(expected, dtype=torch.float64), atol=1e-5, rtol=0
    )


@pytest.mark.parametrize(
    "ids, kwargs, error",
    [
        (torch.tensor([1]), {}, ValueError),
        (torch.tensor([[1, 2, 3]]), {}, ValueError),
        (torch.tensor([1.0, 2.0]), {}, TypeError),
        (torch.tensor([1, 2, 3]), {"window": 4, "stride": 4}, ValueError),
        (torch.tensor([1, 2, 3]), {"window": 0, "stride": 1}, ValueError),
        (torch.tensor([1, 2, 3]), {"window": 8, "stride": 2.5}, ValueError),
    ],
)
def test_token_nll_bad_input(model, ids, kwargs, error):
    with pytest.raises(error):
        dec.token_nll(model, ids, **kwargs)


def test_bad_calls(model):
    with pytest.raises(ValueError):
        dec.generate(model, torch.tensor([1, 2]), 2)
    with pytest.raises(ValueError):
        dec.generate(model, torch.tensor([[1, 2]]), -1)
    with pytest.raises(TypeError):
        dec.generate(lambda x: x, torch.tensor([[1, 2]]), 2)
    with pytest.raises(ValueError):
        dec.beam_search(model, torch.tensor([[1], [2]]), 2)
    with pytest.raises(ValueError):
        dec.beam_search(model, torch.tensor([[1]]), 2, num_beams=0)
    with pytest.raises(TypeError):
        dec.top_p_filter(torch.tensor([[1, 2]]), 0.5)
    with pytest.raises(ValueError):
        dec.KVCache(0)
