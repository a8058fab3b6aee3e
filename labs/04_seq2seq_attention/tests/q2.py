from otter.test_files import test_case

OK_FORMAT = False

name = "q2"
points = None

@test_case(points=1, hidden=False)
def test_q2_one_example(greedy_decode):
    import numpy as np

    def scripted(scripts, vocab=12):
        """Example i says scripts[i][t] at its t-th step (token 9 after its script);
        the state is the step count. Records the tokens it was fed."""
        fed = []

        def step(tokens, state):
            fed.append(np.array(tokens).reshape(-1).tolist())
            logits = np.full((len(scripts), vocab), -1.0)
            for i, s in enumerate(scripts):
                logits[i, s[state] if state < len(s) else 9] = 1.0
            return (logits, state + 1)
        return (step, fed)
    step, fed = scripted([[4, 5, 2]])
    got = greedy_decode(step, 0, 1, 1, 2, 10)
    assert got == [[4, 5]], f'a model that says 4, 5, then the end token 2 should give [[4, 5]] (no start, no end token), got {got}'

