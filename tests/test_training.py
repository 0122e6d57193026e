"""The training view's engine: a tiny run learns, records every epoch, keeps its checkpoints, and stops."""

from __future__ import annotations

import numpy as np
import pytest

import explainers
from introspection.training import ARCHITECTURES, TrainingConfig, build_model, checkpoint_model, train
from models.fashion_mnist import CLASS_NAMES, SUBSET_PATH, load_subset


@pytest.fixture(scope="module")
def data():
    return load_subset()


def test_the_bundled_subset_is_class_balanced_with_its_card(data):
    assert data["train_images"].shape == (3000, 28, 28) and data["test_images"].shape == (600, 28, 28)
    assert data["train_images"].dtype == np.uint8
    assert np.bincount(data["train_labels"], minlength=10).tolist() == [300] * 10
    assert np.bincount(data["test_labels"], minlength=10).tolist() == [60] * 10
    card = SUBSET_PATH.with_suffix(".md").read_text()
    assert "MIT" in card and "dataset-fashion-mnist" in card and "make_fashion_mnist_subset.py" in card


def test_a_tiny_run_learns_and_has_one_frame_per_epoch(data):
    config = TrainingConfig(architecture="tiny", epochs=2, learning_rate=3e-3, train_images=600, probes=3)
    seen = []
    run = train(config, data, on_batch=lambda run: seen.append(len(run.batch_losses)))
    assert len(run.epochs) == len(run.frames) == len(run.checkpoints) == 2
    assert run.batches_per_epoch == 10 and len(run.batch_losses) == 20 and seen[:3] == [1, 2, 3]
    first, last = np.mean(run.batch_losses[:3]), np.mean(run.batch_losses[-3:])
    assert last < first - 0.3, (first, last)
    assert run.epochs[-1].test_accuracy > 0.3, "well above chance (0.1) on the held-out images"
    frame = run.frames[-1]
    assert frame.gradcam.shape == frame.saliency.shape == (3, 28, 28) and frame.epoch == 2
    assert list(run.probe_labels) == [0, 1, 2]
    record = run.epochs[0]
    assert set(record.gradient_norms) == set(record.weight_histograms) == {"conv1", "conv2", "dense", "logits"}
    assert all(norm > 0 for norm in record.gradient_norms.values())
    assert set(record.dead_fractions) == {"relu1", "relu2", "dense"}
    counts, edges = record.weight_histograms["conv1"]
    assert counts.sum() == 3 * 3 * 1 * 8 and len(edges) == len(counts) + 1


def test_checkpoints_reproduce_their_epoch_and_runs_are_seeded(data):
    config = TrainingConfig(architecture="tiny", epochs=2, train_images=256, probes=2, seed=5)
    run = train(config, data)
    again = train(config, data)
    np.testing.assert_allclose(run.batch_losses, again.batch_losses, rtol=1e-4)
    images = (data["test_images"][:16].astype(np.float32) / 255.0)[..., None]
    first = checkpoint_model(run, 1)
    probabilities = explainers.predict(first, images)
    expected = run.frames[0].predicted
    probes = (run.probe_images,)
    assert tuple(int(i) for i in explainers.predict(first, *probes).argmax(axis=1)) == expected
    assert probabilities.shape == (16, len(CLASS_NAMES))
    assert not np.allclose(probabilities, explainers.predict(checkpoint_model(run, 2), images)), "epochs differ"
    other = train(TrainingConfig(architecture="tiny", epochs=1, train_images=256, probes=2, seed=6), data)
    assert other.batch_losses[0] != run.batch_losses[0]


def test_a_run_stops_when_asked_and_keeps_finished_epochs(data):
    config = TrainingConfig(architecture="tiny", epochs=3, train_images=256, batch_size=32, probes=2)
    done = [0]  # batches so far, as the page's progress sees them
    run = train(
        config, data, on_batch=lambda run: done.__setitem__(0, len(run.batch_losses)), should_stop=lambda: done[0] >= 12
    )
    assert run.stopped and len(run.batch_losses) == 12
    assert len(run.epochs) == len(run.frames) == 1, "the first epoch (8 batches) finished, the second did not"


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_every_architecture_builds_for_28x28_gray_and_is_explainable(architecture, rng):
    model = build_model(architecture)
    assert tuple(model.inputs[0].shape[1:]) == (28, 28, 1) and model.outputs[0].shape[-1] == 10
    assert explainers.output_kind(model) == "softmax"
    attribution = explainers.explain(model, rng.uniform(size=(28, 28, 1)), "gradcam").attribution
    assert attribution.shape == (28, 28)
    with pytest.raises(ValueError, match="epochs"):
        TrainingConfig(architecture=architecture, epochs=0)


def test_two_runs_at_once_do_not_interfere(data):
    """Two sessions training together (threads, as the page's jobs) get what each would get alone."""
    import threading

    configs = [TrainingConfig(architecture="tiny", epochs=1, train_images=256, probes=2, seed=s) for s in (1, 2)]
    alone = [train(config, data).batch_losses for config in configs]
    together: dict[int, list[float]] = {}
    threads = [
        threading.Thread(target=lambda i=i: together.__setitem__(i, train(configs[i], data).batch_losses))
        for i in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(2):
        np.testing.assert_allclose(together[index], alone[index], rtol=1e-4)


def test_a_finished_run_leaves_no_model_behind(data):
    """Each run builds its models; once it is over only its weights (checkpoints) remain, so runs do not pile up."""
    import gc

    from explainers._graph import _GRAPHS

    gc.collect()
    before = len(_GRAPHS)
    run = train(TrainingConfig(architecture="tiny", epochs=1, train_images=128, probes=2), data)
    gc.collect()
    assert len(_GRAPHS) == before and len(run.checkpoints) == 1
