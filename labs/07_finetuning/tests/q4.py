from otter.test_files import test_case

OK_FORMAT = False

name = "q4"
points = None

@test_case(points=1, hidden=False)
def test_balanced_accuracy_values(balanced_accuracy):
    import math
    got = balanced_accuracy([0, 0, 0, 1], [0, 0, 1, 1])
    assert isinstance(got, float), f'balanced_accuracy should return a Python float, got {type(got).__name__}'
    assert math.isclose(got, (2 / 3 + 1) / 2), f'y_true [0, 0, 0, 1], y_pred [0, 0, 1, 1]: recalls 2/3 and 1, so {(2 / 3 + 1) / 2:.4f}; got {got}'

