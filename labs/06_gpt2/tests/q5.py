from otter.test_files import test_case

OK_FORMAT = False

name = "q5"
points = None

@test_case(points=1.5, hidden=False)
def test_generate_greedy(generate_top_p, env):
    """SmolLM2 with p = 1e-9 must decode greedily.

    time limit: 150 s
    """
    import torch
    smollm2 = env.get('smollm2')
    if smollm2 is None:
        from lmbook.llama import load_smollm2
        smollm2 = env['smollm2'] = load_smollm2()[0]
    prompt = torch.tensor([[1, 9690, 198, 2683, 359, 253, 5356, 5646, 11173, 3365, 3511, 308, 34519, 28, 7018, 411, 407, 19712, 8182, 2, 198, 1, 4093, 198, 1780, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198]])
    want, ids, past = ([], prompt, None)
    with torch.no_grad():
        for _ in range(10):
            out = smollm2(ids, past_key_values=past, use_cache=True)
            past = out.past_key_values
            ids = out.logits[:, -1, :].argmax(dim=-1, keepdim=True)
            want.append(int(ids))
    got = generate_top_p(smollm2, prompt, 10, p=1e-09)
    assert isinstance(got, list) and all((isinstance(t, int) for t in got)), f'generate_top_p should return a list of Python ints, got {got!r}'
    assert got == want, f"with p = 1e-9 only the most probable token is kept, so 10 tokens after the prompt 'What is the capital of France?' should be the greedy ones {want}, got {got}"

