"""Proxy A-distance (Ben-David et al. 2007): how well can a classifier tell two domains apart?

Train a linear domain classifier on part of the features of both domains and
measure its error ``err`` on the rest; then ``PAD = 2 (1 - 2 err)``: about 2 when
the domains are perfectly separable, about 0 when a classifier does no better than
chance (a PAD below 0 is chance too). The error is cross-validated: every row is
held out once (``FOLDS`` folds), so a few hundred rows per domain give a usable
estimate where one half-and-half split would leave it to which rows fell where.
"""

import numpy as np

#: Folds of the cross-validated domain-classifier error.
FOLDS = 5


def proxy_a_distance(source, target, seed=0, max_per_domain=1000):
    """PAD between (n_s, d) and (n_t, d) feature arrays (features are flattened per row).

    Args:
        seed: which rows fall in which fold.
        max_per_domain: use at most this many rows of each (speed).

    Returns:
        a float in [-2, 2].
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    source = np.asarray(source, dtype="float64").reshape(len(source), -1)
    target = np.asarray(target, dtype="float64").reshape(len(target), -1)
    if min(len(source), len(target)) < 4:
        raise ValueError(f"need at least 4 rows per domain, got {len(source)} and {len(target)}")
    if source.shape[1] != target.shape[1]:
        raise ValueError(f"source and target features must have the same width, "
                         f"got {source.shape[1]} and {target.shape[1]}")
    rng = np.random.default_rng(seed)
    source = source[rng.permutation(len(source))[:max_per_domain]]
    target = target[rng.permutation(len(target))[:max_per_domain]]
    x = np.concatenate([source, target])
    d = np.concatenate([np.zeros(len(source)), np.ones(len(target))])
    classifier = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=1000))
    folds = StratifiedKFold(min(FOLDS, len(source), len(target)), shuffle=True, random_state=seed)
    error = float(np.mean(cross_val_predict(classifier, x, d, cv=folds) != d))
    return 2.0 * (1.0 - 2.0 * error)
