"""Feature space pictures: source and target features projected to 2-D with PCA, side by side."""

import numpy as np


def project_2d(source, target):
    """PCA fitted on both feature sets together; returns their (n, 2) projections."""
    from sklearn.decomposition import PCA

    source = np.asarray(source).reshape(len(source), -1)
    target = np.asarray(target).reshape(len(target), -1)
    if source.shape[1] != target.shape[1]:
        raise ValueError(f"source and target features must have the same width, "
                         f"got {source.shape[1]} and {target.shape[1]}")
    pca = PCA(n_components=2, random_state=0).fit(np.concatenate([source, target]))
    return pca.transform(source), pca.transform(target)


def plot_feature_space(panels, n_points=500):
    """One scatter per panel: source features in blue, target features in orange.

    Args:
        panels: ``{title: (source_features, target_features)}``, e.g. before and
            after adaptation; each projected with its own PCA.
        n_points: at most this many points of each domain are drawn.

    Returns:
        the matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    from course_lib.plots import FONT_SIZE, style_axes

    if not panels:
        raise ValueError("panels is empty; pass {title: (source_features, target_features)}")
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.8), squeeze=False)
    for ax, (title, (source, target)) in zip(axes[0], panels.items()):
        s2, t2 = project_2d(source[:n_points], target[:n_points])
        ax.scatter(*s2.T, s=10, alpha=0.5, color="C0", label="source (mnist)")
        ax.scatter(*t2.T, s=10, alpha=0.5, color="C1", label="target (mnist_m)")
        ax.set_title(title)
        ax.set_xlabel("PCA 1")
        ax.set_ylabel("PCA 2")
        style_axes(ax)
        ax.legend(fontsize=FONT_SIZE - 1, markerscale=2)
    fig.tight_layout()
    return fig


def domain_features(extractor, x_source, x_target, source_stats=None, target_stats=None):
    """Features of each domain with that domain's own BatchNorm statistics, as in training.

    The extractor's BatchNorm statistics are re-estimated on ``source_stats``
    (default ``x_source``) for the source features, then on ``target_stats``
    (default ``x_target``) for the target ones; the extractor is left set for the target.

    Returns:
        ``(source_features, target_features)``, (n, d) arrays.
    """
    from course_lib.source_free import reestimate_batchnorm

    reestimate_batchnorm(extractor, x_source if source_stats is None else source_stats)
    source = extractor.predict(x_source, batch_size=512, verbose=0)
    reestimate_batchnorm(extractor, x_target if target_stats is None else target_stats)
    target = extractor.predict(x_target, batch_size=512, verbose=0)
    return source.reshape(len(source), -1), target.reshape(len(target), -1)
