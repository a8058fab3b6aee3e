"""lmbook.finetune: LoRA (= peft), merging, answer-only masks, the classification head,
the DDP entry point (2 gloo processes = 1 process) and resumable checkpoints."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from lmbook import finetune as ft

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def tiny():
    return ft.tiny_llama(seed=0)


@pytest.fixture(scope="module")
def smol_tokenizer():
    from transformers import AutoTokenizer

    from lmbook.data import smollm2_path

    path = smollm2_path()
    return AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)


def _ids(batch=2, length=12, seed=0):
    return torch.randint(
        0, 260, (batch, length), generator=torch.Generator().manual_seed(seed)
    )


def test_lora_equals_peft_on_the_same_weights(tiny):
    from peft import LoraConfig, get_peft_model

    ours = copy.deepcopy(tiny)
    theirs = get_peft_model(
        copy.deepcopy(tiny),
        LoraConfig(
            r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.0
        ),
    )
    names = ft.add_lora(ours, r=4, alpha=8)
    assert len(names) == 4  # q and v in 2 blocks
    torch.manual_seed(1)
    for name in names:
        mine = ours.get_submodule(name)
        peft_layer = theirs.base_model.model.get_submodule(name)
        with torch.no_grad():
            mine.lora_B.normal_()  # non-zero B, so the update matters
            peft_layer.lora_A["default"].weight.copy_(mine.lora_A)
            peft_layer.lora_B["default"].weight.copy_(mine.lora_B)
    x = _ids()
    with torch.no_grad():
        a, b, base = ours(x).logits, theirs(x).logits, tiny(x).logits
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert (a - base).abs().max() > 1e-3
    assert ft.count_parameters(ours)["trainable"] == sum(
        p.numel() for p in theirs.parameters() if p.requires_grad
    )


def test_lora_starts_as_the_base_layer_and_merges_exactly():
    base = torch.nn.Linear(16, 8)
    layer = ft.LoRALinear(copy.deepcopy(base), r=2, alpha=4)
    x = torch.randn(3, 16)
    torch.testing.assert_close(layer(x), base(x))  # B = 0 at the start
    assert layer.scaling == 2.0 and not layer.base.weight.requires_grad
    with torch.no_grad():
        layer.lora_B.normal_()
    before = layer(x)
    layer.merge()
    torch.testing.assert_close(layer(x), before, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(layer.base.weight, base.weight + layer.delta_weight())
    layer.unmerge()
    torch.testing.assert_close(layer.base.weight, base.weight, atol=1e-6, rtol=0)
    torch.testing.assert_close(layer(x), before)


def test_merged_model_gives_the_same_outputs(tiny):
    model = copy.deepcopy(tiny)
    ft.add_lora(model, targets=("q_proj", "k_proj", "v_proj", "o_proj"), r=2)
    for layer in model.modules():
        if isinstance(layer, ft.LoRALinear):
            torch.nn.init.normal_(layer.lora_B, std=0.1)
    x = _ids(seed=3)
    with torch.no_grad():
        before = model(x).logits
        assert ft.merge_lora(model) == 8
        merged = model(x).logits
        assert ft.unmerge_lora(model) == 8
        again = model(x).logits
    torch.testing.assert_close(merged, before, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(again, before, atol=1e-5, rtol=1e-5)


def test_answer_only_labels():
    assert ft.answer_only_labels([5, 6, 7, 8], 2) == [-100, -100, 7, 8]
    assert ft.answer_only_labels([5, 6], 0) == [5, 6]
    with pytest.raises(ValueError, match="answer"):
        ft.answer_only_labels([5, 6], 2)
    with pytest.raises(TypeError):
        ft.answer_only_labels("abc", 1)
    with pytest.raises(TypeError):
        ft.answer_only_labels([1, 2], 1.0)


def test_chat_example_masks_all_but_the_answer(smol_tokenizer):
    tok = smol_tokenizer
    ids, labels = ft.chat_example(tok, "Write 7 in words.", "seven", system="Be brief.")
    kept = [i for i, lab in zip(ids, labels) if lab != ft.IGNORE_INDEX]
    assert tok.decode(kept).strip() == "seven<|im_end|>"
    assert tok.decode(ids).startswith("<|im_start|>system\nBe brief.<|im_end|>")
    with pytest.raises(ValueError):
        ft.chat_example(tok, "x", "")


def test_classification_prompt_is_the_chat_template_ending_in_the_answer_slot(
    smol_tokenizer,
):
    tok = smol_tokenizer
    ids = ft.classification_prompt(tok, "sms", "WIN a prize now")
    assert tok.decode(ids) == (
        "<|im_start|>system\nAnswer yes or no.<|im_end|>\n<|im_start|>user\n"
        "Text message: WIN a prize now\nIs this message spam?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    few = tok.decode(
        ft.classification_prompt(tok, "rotten", "dull", shots=[("a gem", 1)])
    )
    assert "Movie review: a gem\nIs this review positive?<|im_end|>\n" in few
    assert "<|im_start|>assistant\nyes<|im_end|>\n" in few
    assert few.endswith(
        "Movie review: dull\nIs this review positive?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    cut = tok.decode(ft.classification_prompt(tok, "sms", "one two three", max_len=1))
    assert "Text message: one\n" in cut
    assert ft.LABEL_WORDS == ("no", "yes")
    with pytest.raises(ValueError, match="task"):
        ft.classification_prompt(tok, "news", "x")
    with pytest.raises(TypeError, match="text"):
        ft.classification_prompt(tok, "sms", 3)
    with pytest.raises(ValueError, match="max_len"):
        ft.classification_prompt(tok, "sms", "x", max_len=0)


def test_collate_right_pads_ids_or_hidden_states():
    batch, lengths = ft.collate([torch.tensor([5, 6, 7]), torch.tensor([8])])
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert lengths.tolist() == [3, 1]
    states, lengths = ft.collate([torch.ones(2, 4), torch.ones(3, 4)])
    assert states["inputs_embeds"].shape == (2, 3, 4) and lengths.tolist() == [2, 3]
    assert states["inputs_embeds"][0, 2].abs().sum() == 0
    with pytest.raises(ValueError, match="non-empty"):
        ft.collate([])
    with pytest.raises(TypeError, match="tensors"):
        ft.collate([[1, 2]])
    with pytest.raises(ValueError, match="at least one"):
        ft.collate([torch.tensor([], dtype=torch.long)])
    with pytest.raises(ValueError, match="1-D"):
        ft.collate([torch.tensor([1]), torch.ones(1, 2, dtype=torch.long)])
    with pytest.raises(ValueError, match="same d"):
        ft.collate([torch.ones(2, 4), torch.ones(2, 5)])


def test_pad_batch_and_lm_loss_skip_masked_positions():
    batch = ft.pad_batch([([1, 2, 3], [-100, 2, 3]), ([4, 5], [4, 5])], pad_id=0)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 5, 0]]
    assert batch["labels"].tolist() == [[-100, 2, 3], [4, 5, -100]]
    assert batch["lengths"].tolist() == [3, 2]
    logits = torch.randn(2, 3, 7)
    loss = ft.lm_loss(logits, batch["labels"])
    # three targets count: 2 -> 3 in row 0 (pos 1), and 4 -> 5 in row 1 (pos 0)...
    manual = torch.nn.functional.cross_entropy(
        torch.stack([logits[0, 0], logits[0, 1], logits[1, 0]]), torch.tensor([2, 3, 5])
    )
    torch.testing.assert_close(loss, manual)
    with pytest.raises(ValueError, match="empty"):
        ft.pad_batch([], 0)
    with pytest.raises(ValueError, match="same length"):
        ft.pad_batch([([1, 2], [1])], 0)


def test_classifier_reads_the_last_real_token_and_ignores_pads(tiny):
    clf = ft.ClassifierOnLastToken(tiny.model, 32, 2)
    x = _ids(batch=1, length=6)
    padded = torch.cat([x, torch.zeros(1, 4, dtype=torch.long)], 1)
    with torch.no_grad():
        a = clf(input_ids=x)
        b = clf(input_ids=padded, lengths=torch.tensor([6]))
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert a.shape == (1, 2)
    with pytest.raises(ValueError, match="shape"):
        ft.ClassifierOnLastToken(tiny.model, 32, 2, init=torch.zeros(3, 32))


def test_top_backbone_continues_the_full_model(tiny):
    x = _ids(seed=5)
    with torch.no_grad():
        out = tiny.model(x, output_hidden_states=True)
        top = ft.top_backbone(tiny, 1)
        again = top(inputs_embeds=out.hidden_states[1], use_cache=False)
        again = again.last_hidden_state
    torch.testing.assert_close(again, out.last_hidden_state, atol=1e-5, rtol=1e-5)
    assert top.layers[0] is tiny.model.layers[1]  # shared, not copied
    with pytest.raises(ValueError):
        ft.top_backbone(tiny, 3)


def test_classification_metrics():
    m = ft.classification_metrics([0, 0, 0, 1], [0, 0, 1, 1])
    assert m["accuracy"] == 0.75 and m["confusion"] == [[2, 1], [0, 1]]
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1) / 2)
    assert m["f1"] == pytest.approx(2 / 3)
    assert ft.classification_metrics([1, 0], [0, 0])["f1"] == 0.0
    with pytest.raises(ValueError):
        ft.classification_metrics([0, 2], [0, 1])
    with pytest.raises(ValueError):
        ft.classification_metrics([0, 1], [0])


def test_memory_estimate():
    m = ft.memory_estimate(10**9, 10**9, tokens=1, d_model=1, num_layers=1)
    assert m["weights"] == pytest.approx(10**9 * 4 / 2**30)
    assert m["optimizer"] == 2 * m["weights"]
    lora = ft.memory_estimate(10**9, 10**6, tokens=1024, d_model=576, num_layers=30)
    full = ft.memory_estimate(10**9, 10**9, tokens=1024, d_model=576, num_layers=30)
    assert lora["total"] < full["total"] / 2
    ckpt = ft.memory_estimate(
        10**9, 10**6, tokens=1024, d_model=576, num_layers=30, checkpointing=True
    )
    assert ckpt["activations"] == pytest.approx(lora["activations"] / 34)
    with pytest.raises(ValueError):
        ft.memory_estimate(10, 20, tokens=1, d_model=1, num_layers=1)


def test_bad_inputs_raise_clear_errors(tiny):
    with pytest.raises(TypeError, match="nn.Linear"):
        ft.LoRALinear(torch.nn.Conv1d(2, 2, 1))
    with pytest.raises(ValueError, match="r must"):
        ft.LoRALinear(torch.nn.Linear(2, 2), r=0)
    with pytest.raises(ValueError, match="no nn.Linear"):
        ft.add_lora(copy.deepcopy(tiny), targets=("nope",))
    with pytest.raises(ValueError, match="divide"):
        ft._check_args(ft._parser().parse_args(["--global-batch", "3"]), 2)
    with pytest.raises(ValueError, match="--resume needs"):
        ft._check_args(ft._parser().parse_args(["--resume"]), 1)
    with pytest.raises(ValueError, match="steps"):
        ft._check_args(ft._parser().parse_args(["--steps", "0"]), 1)


def _run(args, tmp_path, name, nproc=1):
    out = tmp_path / f"{name}.json"
    if nproc == 1:
        cmd = [sys.executable, "-m", "lmbook.finetune"]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        cmd += ["--nproc_per_node", str(nproc), "-m", "lmbook.finetune"]
    done = subprocess.run(
        [*cmd, *args, "--out", str(out)], env=ENV, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


COMMON = [
    "--model",
    "tiny",
    "--steps",
    "4",
    "--global-batch",
    "8",
    "--train-size",
    "64",
]


def test_ddp_two_gloo_processes_equal_one_and_resume_in_either_mode(tmp_path):
    one = _run(COMMON, tmp_path, "one")
    two = _run(COMMON, tmp_path, "two", nproc=2)
    assert two["world_size"] == 2 and one["world_size"] == 1
    np.testing.assert_allclose(two["losses"], one["losses"], rtol=1e-5, atol=1e-6)
    # stop after 2 steps in one process, resume under DDP: the same 4 losses
    ckpt = str(tmp_path / "ckpt.pt")
    half = _run([*COMMON, "--checkpoint", ckpt, "--stop-after", "2"], tmp_path, "half")
    assert len(half["losses"]) == 2
    resumed = _run(
        [*COMMON, "--checkpoint", ckpt, "--resume"], tmp_path, "res", nproc=2
    )
    np.testing.assert_allclose(resumed["losses"], one["losses"], rtol=1e-5, atol=1e-6)


def test_resume_in_process_equals_uninterrupted(tmp_path):
    args = [*COMMON, "--method", "full"]
    whole = ft.main([*args, "--checkpoint", str(tmp_path / "a.pt")])
    ckpt = str(tmp_path / "b.pt")
    ft.main([*args, "--checkpoint", ckpt, "--stop-after", "2"])
    resumed = ft.main([*args, "--checkpoint", ckpt, "--resume"])
    assert resumed["losses"] == whole["losses"]
    a = torch.load(tmp_path / "a.pt", weights_only=False)["model"]
    b = torch.load(ckpt, weights_only=False)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_fit_classifier_and_predict_learn_a_separable_task(tiny):
    torch.manual_seed(0)
    clf = ft.ClassifierOnLastToken(ft.top_backbone(tiny, 1), 32, 2)
    inputs = [torch.randn(4, 32) + (3 if i % 2 else -3) for i in range(32)]
    labels = [i % 2 for i in range(32)]
    losses = ft.fit_classifier(clf, inputs, labels, epochs=5, batch_size=8, lr=1e-2)
    assert len(losses) == 20 and losses[-1] < losses[0]
    assert (ft.predict(clf, inputs) == np.array(labels)).mean() >= 0.9
    with pytest.raises(ValueError, match="labels"):
        ft.fit_classifier(clf, inputs, labels[:3])
    assert ft.remove_lora(tiny) == 0


def test_balanced_sample_draws_per_class_without_replacement_and_is_seeded():
    pairs = [(f"t{i}", int(i % 3 == 0)) for i in range(30)]  # 10 of label 1, 20 of 0
    a = ft.balanced_sample(pairs, 4, seed=0)
    assert sorted(y for _, y in a) == [0] * 4 + [1] * 4
    assert len({t for t, _ in a}) == 8 and all(p in pairs for p in a)
    assert a == ft.balanced_sample(pairs, 4, seed=0)
    assert a != ft.balanced_sample(pairs, 4, seed=1)
    assert [y for _, y in a] != sorted(y for _, y in a)  # shuffled, not grouped
    assert ft.balanced_sample(pairs, None, seed=0) is pairs
    with pytest.raises(ValueError, match="only 10 examples of label 1, asked 11"):
        ft.balanced_sample(pairs, 11, seed=0)
    with pytest.raises(ValueError, match="per_class"):
        ft.balanced_sample(pairs, 0, seed=0)
