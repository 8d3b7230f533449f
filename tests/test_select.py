"""CVSelectPredictor: candidates on feature groups (explicit or from column names), blends,
and clear errors (synthetic data, no benchmark files)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasperf.predictors import CVSelectPredictor, get_predictor, kendall_tau_score
from nasperf.predictors.select import Candidate, cv_folds, top_k_columns

ET = {"params": {"n_estimators": 30}, "n_jobs": 1}


def _frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Two graph columns and two proxy columns; y = graf:a + zc:s (plus a little noise)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.uniform(size=(n, 4)), columns=["graf:a", "graf:b", "zc:s", "zc:t"])
    return X, X["graf:a"].to_numpy() + X["zc:s"].to_numpy() + 0.01 * rng.normal(size=n)


def test_cv_folds_bounds():
    assert len(cv_folds(100, 5, 0)) == 5
    assert len(cv_folds(12, 5, 0)) == 3          # validation folds of at least 4
    assert len(cv_folds(5, 5, 0)) == 2
    folds = cv_folds(40, 5, 0)
    assert sorted(np.concatenate([te for _, te in folds]).tolist()) == list(range(40))


def test_repeated_folds_start_with_the_single_shuffle_and_differ_after():
    one, three = cv_folds(40, 5, 0), cv_folds(40, 5, 0, repeats=3)
    assert len(three) == 15
    for (a, b), (c, d) in zip(one, three[:5]):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    assert any(not np.array_equal(three[k][1], three[5 + k][1]) for k in range(5))
    for r in range(3):  # every repeat is a partition
        fold_ids = np.concatenate([te for _, te in three[5 * r: 5 * r + 5]])
        assert sorted(fold_ids.tolist()) == list(range(40))


def test_cv_repeats_default_depends_on_the_training_size():
    X, y = _frame(40)
    fast = [Candidate("extra_trees", "extra_trees", ET)]
    small = get_predictor("auto", candidates=fast, random_state=0).fit(X, y)
    once = get_predictor("auto", candidates=fast, random_state=0, cv_repeats=1).fit(X, y)
    assert small.cv_scores_ != once.cv_scores_  # 15 folds against 5
    with pytest.raises(ValueError, match="cv_repeats must be a positive integer"):
        get_predictor("auto", candidates=fast, cv_repeats=0).fit(X, y)


def test_top_k_columns_ranks_by_absolute_spearman():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 6))
    y = X[:, 4] - 0.5 * X[:, 1] ** 3
    X[:, 2] = 1.0  # constant: uncorrelated
    assert top_k_columns(X, y, 2).tolist() == [1, 4]
    assert top_k_columns(X, -y, 2).tolist() == [1, 4]  # the sign does not matter


def test_top_k_candidate_picks_its_columns_on_the_training_data_only():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.uniform(size=(80, 40)), columns=[f"f:{i}" for i in range(40)])
    y = X["f:3"].to_numpy() + X["f:17"].to_numpy()
    top = Candidate("et[top2]", "extra_trees", ET, top_k=2)
    model = CVSelectPredictor(candidates=[top], random_state=0).fit(X, y)
    [(_, cols)] = model.best_estimators_
    assert cols.tolist() == [3, 17]
    # a top_k that keeps every column is left out; a bad one is named
    few = pd.DataFrame(rng.uniform(size=(20, 2)), columns=["f:a", "f:b"])
    with pytest.raises(ValueError, match="no usable candidate"):
        CVSelectPredictor(candidates=[top]).fit(few, rng.uniform(size=20))
    with pytest.raises(ValueError, match="top_k must be a positive integer"):
        CVSelectPredictor(candidates=[Candidate("x", "extra_trees", ET, top_k=0)]).fit(X, y)


def test_column_subsets_and_blend_are_scored_and_the_best_is_refitted():
    X, y = _frame(120)
    graf = Candidate("et[graf]", "extra_trees", ET, columns=("graf",))
    zc = Candidate("et[zc]", "extra_trees", ET, columns=("zc",))
    model = CVSelectPredictor(candidates=[graf, zc], blends=[("et[graf]", "et[zc]")], cv=4,
                              random_state=0).fit(X, y)
    assert set(model.cv_scores_) == {"et[graf]", "et[zc]", "et[graf] + et[zc]"}
    # each half sees one of the two additive terms; their mean sees both
    assert model.best_name_ == "et[graf] + et[zc]"
    assert model.cv_scores_["et[graf] + et[zc]"] > max(model.cv_scores_["et[graf]"],
                                                     model.cv_scores_["et[zc]"]) + 0.1
    cols = [c.tolist() for _, c in model.best_estimators_]
    assert cols == [[0, 1], [2, 3]]
    Xt, yt = _frame(200, seed=1)
    pred = model.predict(Xt)
    members = [est.predict(Xt.to_numpy()[:, c]) for est, c in model.best_estimators_]
    np.testing.assert_allclose(pred, np.mean(members, axis=0))
    assert kendall_tau_score(yt, pred) > 0.6


def test_default_auto_uses_proxy_columns_only_with_feature_names(caplog):
    X, y = _frame(40)
    fast = [Candidate("extra_trees", "extra_trees", ET),
            Candidate("extra_trees[zc]", "extra_trees", ET, columns=("zc",))]
    named = get_predictor("auto", candidates=fast, random_state=0).fit(X, y)
    assert set(named.cv_scores_) == {"extra_trees", "extra_trees[zc]",
                                     "extra_trees + extra_trees[zc]"}   # default blend
    with caplog.at_level("INFO", logger="nasperf.predictors"):
        plain = get_predictor("auto", candidates=fast, random_state=0).fit(X.to_numpy(), y)
    assert set(plain.cv_scores_) == {"extra_trees"}
    assert "left out: no feature_groups given and X has no feature names" in caplog.text
    models = get_predictor("auto_models")
    assert models.get_params()["candidates"] == "models" and models.get_params()["blends"] == ()


def test_same_seed_same_choice_and_predictions():
    X, y = _frame(40)
    cands = [("extra_trees", ET), ("random_forest", ET)]
    a = CVSelectPredictor(candidates=cands, random_state=3).fit(X, y)
    b = CVSelectPredictor(candidates=cands, random_state=3).fit(X, y)
    assert a.cv_scores_ == b.cv_scores_
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@pytest.mark.parametrize("kwargs, message", [
    ({"candidates": "nope"}, "unknown candidate set 'nope'"),
    ({"candidates": []}, "at least one predictor"),
    ({"candidates": [("extra_trees", ET), ("extra_trees", ET)]}, "must be unique"),
    ({"candidates": [("extra_trees", ET)], "blends": [("extra_trees", "lightgbm")]},
     "a blend names two or more candidates"),
    ({"candidates": [Candidate("x", "extra_trees", ET, columns=("hw",))]},
     "no usable candidate"),
    ({"candidates": [42]}, "a candidate is a Candidate"),
    ({"candidates": [Candidate("x", "extra_trees", ET, columns=("zc:",))]},
     "name feature groups"),
])
def test_bad_configuration_is_named(kwargs, message):
    X, y = _frame(20)
    with pytest.raises(ValueError, match=message):
        CVSelectPredictor(**kwargs).fit(X, y)


def test_undefined_fold_taus_are_one_info_line_not_warnings(caplog):
    import logging

    rng = np.random.default_rng(0)
    X = np.ones((12, 3))  # every candidate predicts one value: tau is 0/0 in every fold
    y = rng.normal(size=12)
    with caplog.at_level(logging.INFO, logger="nasperf"):
        get_predictor("auto", random_state=0, cv_repeats=1).fit(X, y)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING
                and "is constant" in r.getMessage()]
    assert sum("Kendall tau undefined" in r.getMessage() for r in caplog.records) == 1
