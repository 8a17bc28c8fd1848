"""cc.datasets: shapes, seeds, the curves each data set is drawn on, and train_test_split."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import train_test_split as sklearn_split

from crash_core import datasets as D

GENERATORS = [D.admissions, D.moons, D.circles, D.spirals]
CURVED = [D.moons, D.circles, D.spirals]


# ---------------------------------------------------------------------------------------------
# Shapes, dtypes, seeds


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("n", [2, 7, 400])
def test_shapes_and_dtypes(make, n):
    X, y = make(n, random_state=0)
    assert X.shape == (n, 2) and X.dtype == np.float64
    assert y.shape == (n,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))


def test_default_size_is_400():
    for make in GENERATORS:
        assert len(make(random_state=0)[0]) == 400


@pytest.mark.parametrize("make", CURVED)
@pytest.mark.parametrize("n", [10, 11, 401])
def test_curved_sets_have_balanced_classes(make, n):
    _, y = make(n, random_state=1)
    counts = np.bincount(y)
    assert len(counts) == 2 and counts.max() - counts.min() <= (n % 2)


@pytest.mark.parametrize("n_classes", [2, 3, 5])
def test_spirals_have_one_balanced_class_per_arm(n_classes):
    _, y = D.spirals(301, n_classes=n_classes, random_state=2)
    counts = np.bincount(y)
    assert len(counts) == n_classes and counts.max() - counts.min() <= 1


@pytest.mark.parametrize("make", GENERATORS)
def test_same_seed_same_data_other_seed_other_data(make):
    X1, y1 = make(50, random_state=3)
    X2, y2 = make(50, random_state=3)
    X3, _ = make(50, random_state=4)
    assert_array_equal(X1, X2)
    assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)


@pytest.mark.parametrize("make", GENERATORS)
def test_a_generator_is_used_as_given(make):
    X1, y1 = make(30, random_state=np.random.default_rng(5))
    X2, y2 = make(30, random_state=np.random.default_rng(5))
    assert_array_equal(X1, X2)
    assert_array_equal(y1, y2)
    rng = np.random.default_rng(5)
    assert not np.array_equal(make(30, random_state=rng)[0], make(30, random_state=rng)[0])


@pytest.mark.parametrize("make", GENERATORS)
def test_no_seed_gives_fresh_data(make):
    assert not np.array_equal(make(30)[0], make(30)[0])


@pytest.mark.parametrize("make", CURVED)
def test_points_are_not_grouped_by_class(make):
    _, y = make(200, random_state=0)
    assert np.count_nonzero(np.diff(y)) > 20


# ---------------------------------------------------------------------------------------------
# What each data set looks like


def test_admissions_without_noise_is_split_by_the_course_line():
    X, y = D.admissions(1000, noise=0, random_state=0)
    assert np.all((X >= 0) & (X <= 10))
    assert_array_equal(y, (2 * X[:, 0] + X[:, 1] - 18 >= 0).astype(int))
    # the accepted region 2 x1 + x2 >= 18 covers 35 % of the square
    assert 0.3 < y.mean() < 0.4


def test_admissions_flips_a_noise_fraction_of_the_labels():
    X, y = D.admissions(400, noise=0.2, random_state=1)
    clean = (2 * X[:, 0] + X[:, 1] - 18 >= 0).astype(int)
    assert np.count_nonzero(y != clean) == 80


def test_admissions_scores_look_uniform():
    X, _ = D.admissions(4000, random_state=2)
    assert_allclose(X.mean(axis=0), 5.0, atol=0.2)
    assert_allclose(X.std(axis=0), 10 / np.sqrt(12), atol=0.1)


def test_moons_without_noise_lie_on_two_half_circles():
    X, y = D.moons(101, noise=0, random_state=0)
    upper, lower = X[y == 0], X[y == 1]
    assert_allclose(np.hypot(*upper.T), 1.0)
    assert np.all(upper[:, 1] >= -1e-12)
    assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0)
    assert np.all(lower[:, 1] <= 0.5 + 1e-12)


@pytest.mark.parametrize("factor", [0.3, 0.5, 0.8])
def test_circles_without_noise_have_radii_1_and_factor(factor):
    X, y = D.circles(60, noise=0, factor=factor, random_state=0)
    radius = np.hypot(X[:, 0], X[:, 1])
    assert_allclose(radius[y == 0], 1.0)
    assert_allclose(radius[y == 1], factor)


@pytest.mark.parametrize(("n_classes", "turns"), [(2, 1.0), (3, 1.5), (4, 0.5)])
def test_spirals_without_noise_lie_on_their_arms(n_classes, turns):
    X, y = D.spirals(120, noise=0, n_classes=n_classes, turns=turns, random_state=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.all((r > 0) & (r < 1))
    # on arm k the angle is 2 pi (turns r + k / n_classes), up to whole turns
    unwound = np.arctan2(X[:, 1], X[:, 0]) / (2 * np.pi) - turns * r - y / n_classes
    assert_allclose(np.cos(2 * np.pi * unwound), 1.0, atol=1e-9)


def test_noise_is_the_coordinate_standard_deviation():
    clean, _ = D.circles(4000, noise=0, random_state=0)
    noisy, y = D.circles(4000, noise=0.05, random_state=0)
    # same seed, same order of the points: the difference is the noise alone
    assert_allclose(np.std(noisy - clean), 0.05, rtol=0.05)


def test_curved_sets_need_a_curve():
    """A line cannot split moons, circles or spirals; nearby points share a label."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier

    for make in CURVED:
        X, y = make(400, noise=0.05, random_state=0)
        X_new, y_new = make(400, noise=0.05, random_state=1)
        assert LogisticRegression().fit(X, y).score(X_new, y_new) < 0.9
        assert KNeighborsClassifier(5).fit(X, y).score(X_new, y_new) > 0.95


# ---------------------------------------------------------------------------------------------
# Bad arguments


@pytest.mark.parametrize("make", GENERATORS)
def test_generators_reject_bad_arguments(make):
    with pytest.raises(ValueError, match="n must be at least 2"):
        make(1)
    with pytest.raises(TypeError, match="n must be an int"):
        make(10.0)
    with pytest.raises(TypeError, match="n must be an int"):
        make(True)
    with pytest.raises(ValueError, match="noise"):
        make(10, noise=-0.1)
    with pytest.raises(ValueError, match="noise"):
        make(10, noise=np.nan)
    with pytest.raises(TypeError, match="noise must be a number"):
        make(10, noise="high")
    with pytest.raises(TypeError, match="random_state"):
        make(10, random_state="seed")
    with pytest.raises(TypeError, match="random_state"):
        make(10, random_state=np.random.RandomState(0))
    with pytest.raises(ValueError, match="random_state"):
        make(10, random_state=-1)


def test_specific_bad_arguments():
    with pytest.raises(ValueError, match="noise must be in"):
        D.admissions(noise=1.5)
    with pytest.raises(ValueError, match="noise must be in"):
        D.moons(noise=np.inf)
    for factor in (0, 1, 1.5, -0.5):
        with pytest.raises(ValueError, match="factor must be in"):
            D.circles(factor=factor)
    with pytest.raises(ValueError, match="n_classes must be at least 2"):
        D.spirals(n_classes=1)
    with pytest.raises(ValueError, match="n must be at least 5"):
        D.spirals(4, n_classes=5)
    for turns in (0, -1, np.inf):
        with pytest.raises(ValueError, match="turns must be in"):
            D.spirals(turns=turns)


# ---------------------------------------------------------------------------------------------
# train_test_split


def numbered(n, n_classes=2):
    """X whose first column is the row number, so each row can be traced after the split."""
    X = np.column_stack([np.arange(n), np.arange(n) ** 2]).astype(float)
    y = np.arange(n) % n_classes
    return X, y


@pytest.mark.parametrize(
    ("n", "test_size"), [(100, 0.25), (10, 0.7), (30, 0.1), (7, 0.25), (3, 0.33), (20, 5), (9, 1)]
)
def test_split_sizes_match_scikit_learn(n, test_size):
    X, y = numbered(n)
    X_train, X_test, y_train, y_test = D.train_test_split(X, y, test_size=test_size, random_state=0)
    sk_train, sk_test = sklearn_split(X, test_size=test_size, random_state=0)
    assert len(X_train) == len(y_train) == len(sk_train)
    assert len(X_test) == len(y_test) == len(sk_test)


@pytest.mark.parametrize("stratify", [False, True])
def test_split_is_a_partition_with_rows_kept_together(stratify):
    X, y = numbered(50)
    X_train, X_test, y_train, y_test = D.train_test_split(
        X, y, stratify=y if stratify else None, random_state=1
    )
    rows = np.concatenate([X_train[:, 0], X_test[:, 0]]).astype(int)
    assert_array_equal(np.sort(rows), np.arange(50))
    assert_array_equal(y_train, y[X_train[:, 0].astype(int)])
    assert_array_equal(y_test, y[X_test[:, 0].astype(int)])
    assert_array_equal(X_train[:, 1], X_train[:, 0] ** 2)


def test_split_shuffles_and_is_reproducible():
    X, y = numbered(40)
    first = D.train_test_split(X, y, random_state=7)
    again = D.train_test_split(X, y, random_state=7)
    other = D.train_test_split(X, y, random_state=8)
    for a, b in zip(first, again, strict=True):
        assert_array_equal(a, b)
    assert not np.array_equal(first[1], other[1])
    assert not np.array_equal(first[0][:, 0], np.sort(first[0][:, 0]))


def test_split_without_shuffle_keeps_the_order():
    X, y = numbered(10)
    X_train, X_test, y_train, y_test = D.train_test_split(X, y, test_size=3, shuffle=False)
    assert_array_equal(X_train, X[:7])
    assert_array_equal(X_test, X[7:])
    assert_array_equal(y_train, y[:7])
    assert_array_equal(y_test, y[7:])


@pytest.mark.parametrize(
    ("n", "weights"), [(200, [0.5, 0.3, 0.2]), (103, [0.9, 0.1]), (61, [1, 1])]
)
def test_stratified_split_keeps_class_ratios(n, weights):
    rng = np.random.default_rng(0)
    y = rng.choice(len(weights), size=n, p=np.array(weights) / np.sum(weights))
    X = rng.normal(size=(n, 2))
    _, _, y_train, y_test = D.train_test_split(X, y, test_size=0.25, stratify=y, random_state=3)
    counts, train_counts, test_counts = (
        np.bincount(a, minlength=len(weights)) for a in (y, y_train, y_test)
    )
    assert_array_equal(train_counts + test_counts, counts)
    assert test_counts.sum() == np.ceil(0.25 * n)
    # each class's test share is its exact share, rounded up or down
    assert np.all(np.abs(test_counts - counts * test_counts.sum() / n) < 1)


def test_stratified_split_puts_every_class_on_both_sides():
    y = np.array([0] * 20 + [1] * 2 + [2] * 3)
    X = np.arange(len(y))
    for seed in range(5):
        _, _, y_train, y_test = D.train_test_split(
            X, y, test_size=0.2, stratify=y, random_state=seed
        )
        assert set(y_train) == set(y_test) == {0, 1, 2}


def test_stratify_with_string_labels():
    y = np.array(["cat", "dog"] * 6 + ["cat"] * 4)
    _, _, y_train, y_test = D.train_test_split(
        np.zeros((16, 1)), y, test_size=0.5, stratify=y, random_state=0
    )
    assert sorted(y_test) == ["cat"] * 5 + ["dog"] * 3


def test_split_works_on_lists_and_leaves_inputs_alone():
    X = [[float(i), 0.0] for i in range(12)]
    y = [i % 3 for i in range(12)]
    X_copy, y_copy = [row[:] for row in X], y[:]
    X_train, X_test, y_train, y_test = D.train_test_split(
        X, y, test_size=4, stratify=y, random_state=0
    )
    assert isinstance(X_train, np.ndarray) and X_train.shape == (8, 2) and y_test.shape == (4,)
    assert X == X_copy and y == y_copy

    X_arr, y_arr = numbered(12)
    before = X_arr.copy(), y_arr.copy()
    parts = D.train_test_split(X_arr, y_arr, random_state=0)
    assert_array_equal(X_arr, before[0])
    assert_array_equal(y_arr, before[1])
    parts[0][:] = -1
    assert_array_equal(X_arr, before[0])


def test_split_rejects_bad_arguments():
    X, y = numbered(10)
    with pytest.raises(ValueError, match="different lengths"):
        D.train_test_split(X, y[:9])
    with pytest.raises(ValueError, match="at least 2 samples"):
        D.train_test_split(X[:1], y[:1])
    with pytest.raises(ValueError, match="not scalars"):
        D.train_test_split(3.0, 1)
    for size in (0.0, 1.0, -0.2, 1.5):
        with pytest.raises(ValueError, match="fraction in"):
            D.train_test_split(X, y, test_size=size)
    for size in (0, 10, -1):
        with pytest.raises(ValueError, match="at least one sample on each side"):
            D.train_test_split(X, y, test_size=size)
    with pytest.raises(ValueError, match="no training samples"):
        D.train_test_split(X, y, test_size=0.95)
    with pytest.raises(TypeError, match="test_size"):
        D.train_test_split(X, y, test_size="half")
    with pytest.raises(TypeError, match="test_size"):
        D.train_test_split(X, y, test_size=True)
    with pytest.raises(ValueError, match="class 9 has only 1 member"):
        D.train_test_split(X, y, stratify=np.r_[np.zeros(9, int), 9])
    with pytest.raises(ValueError, match="one label per sample"):
        D.train_test_split(X, y, stratify=y[:5])
    with pytest.raises(ValueError, match="shuffle=True"):
        D.train_test_split(X, y, stratify=y, shuffle=False)
    with pytest.raises(ValueError, match="needs at least 3 samples on each side"):
        D.train_test_split(X, y, test_size=2, stratify=np.arange(10) % 3)
    with pytest.raises(TypeError, match="random_state"):
        D.train_test_split(X, y, random_state=1.5)
