"""Explain an image from the shell with the same engine as the app.

    python cli.py IMAGE [--model NAME | --model FILE.keras|FILE.h5 [--preprocessing PRESET]
                  [--class-names FILE.json|FILE.txt]]
                  [--window LOW,HIGH | --percentiles LOW,HIGH | --dicom-window N] [--frame N]
                  [--methods saliency,gradcam,...] [--target INDEX] [--layer NAME] [--seed S]
                  [--metrics] [--out DIR] [--report FILE.html|FILE.pdf]
    python cli.py visualize [--model NAME] --target INDEX [--steps N] [--seed S] --out DIR
    python cli.py visualize [--model NAME] [--target INDEX] --layer NAME --channel K [--steps N] [--seed S] --out DIR
    python cli.py batch DIR --out OUT [--model NAME|FILE] [--methods ...] [--metrics] [--seed S]
                  [--address ADDR] [--workers N]
    python cli.py --list-models

Writes one overlay PNG per method, ``maps.npz`` (one raw float32 map per method, and the superpixels of
LIME and Kernel SHAP as ``<method>_segments``) and
``summary.json`` (model, image, top-5 predictions, and per map its method, target, layer,
elapsed time, the completeness error of the methods that add up to the score (Integrated Gradients,
DeepLIFT, LRP), for stochastic methods the split-half reliability, and the options each method used).
With ``--metrics``, each map also gets its deletion and insertion AUCs
beside a random order's, and the model-randomisation check; the curves go into ``maps.npz``
(``<method>_deletion``, ``<method>_insertion``, ``random_deletion``, ``random_insertion``) and the
methods' agreement into ``summary.json``.

``--report`` writes the same view as one self-contained HTML file or an A4 PDF: the image as the model saw it
and its intensity window, the model (with a model file's SHA-256), the top-5 chart, every map with its colour
bar, caption, description and "can mislead" note, and the trust numbers where ``--metrics`` measured them.
``--out``, ``--report`` or both must be given.

``batch`` explains every image under DIR (a subfolder per class gives labels) on Ray Data — on this machine, or on
the Ray cluster at ADDR — into ``OUT/predictions.parquet``, ``OUT/maps/`` (float16 maps in ``.npz`` shards),
``OUT/class_means.npz`` and ``OUT/summary.json``; a file that cannot be read is recorded with its reason, and a run
started again on the same OUT skips the shards already written.

``visualize`` optimises an input that the model takes for class INDEX (its logit), or that excites one channel of
a layer (its mean activation), and writes ``visualization.png`` (8-bit, RGB or gray, at the model's input size)
and ``visualization.json`` (the objective at the start and the end, steps, seconds, settings, and the class the
model gives the saved picture).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter off the terminal

import numpy as np

import imaging


class CliError(Exception):
    """A problem with the user's input; printed as one line, exit status 1."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cli.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("image", nargs="?", help=f"image file ({imaging.FORMATS_TEXT})")
    parser.add_argument(
        "--model", default=None, help="model name (see --list-models), or a .keras/.h5 file (loaded in safe mode)"
    )
    parser.add_argument(
        "--preprocessing",
        default=None,
        help="for a model file: unit, symmetric, caffe, torch or raw (default: guessed from the model)",
    )
    parser.add_argument(
        "--download-weights", action="store_true", help="fetch a Keras Applications model's weights if missing"
    )
    parser.add_argument("--class-names", type=Path, default=None, help="for a model file: JSON or TXT class names")
    window = parser.add_mutually_exclusive_group()
    window.add_argument("--window", default=None, help="LOW,HIGH stored values shown as 0..255 (16-bit images)")
    window.add_argument("--percentiles", default=None, help="LOW,HIGH percentiles to clip, e.g. 0.5,99.5")
    window.add_argument(
        "--dicom-window",
        type=int,
        default=None,
        metavar="N",
        help="the DICOM file's window preset N (1 = its first WindowCenter/Width, the default for DICOM)",
    )
    parser.add_argument(
        "--frame",
        type=int,
        default=1,
        metavar="N",
        help="of a multi-frame DICOM file, frame N (1 = the first, the default); only that frame is decoded",
    )
    parser.add_argument(
        "--methods",
        default=None,
        help="comma-separated method names (default: saliency,smoothgrad,gradcam,integrated_gradients)",
    )
    parser.add_argument("--target", type=int, default=None, help="class index to explain (default: top-1)")
    parser.add_argument("--layer", default=None, help="layer for Grad-CAM (default: last spatial layer)")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the random noise (SmoothGrad, ...) and of the metrics' random draws",
    )
    parser.add_argument(
        "--metrics",
        action="store_true",
        help="measure each map: deletion/insertion AUCs against a random order, the randomisation check, agreement",
    )
    parser.add_argument("--out", type=Path, help="output folder: a PNG per map, maps.npz, summary.json")
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        metavar="FILE.html|FILE.pdf",
        help="write a report of the view: self-contained HTML (opens offline) or an A4 PDF",
    )
    parser.add_argument("--list-models", action="store_true", help="print the models and exit")
    args = parser.parse_args(argv)
    if not args.list_models and (args.image is None or (args.out is None and args.report is None)):
        parser.error("IMAGE and --out or --report are required (or use --list-models)")
    if args.report is not None and report_format(args.report) is None:
        parser.error(f"--report takes a .html or .pdf file name (got {args.report.name!r})")
    return args


REPORT_SUFFIXES = {".html": "html", ".htm": "html", ".pdf": "pdf"}


def report_format(path: Path) -> str | None:
    return REPORT_SUFFIXES.get(path.suffix.lower())


def list_models() -> None:
    import models

    for source in models.MODELS.values():
        height, width = source.input_size
        reason = source.unavailable_reason()
        status = f"unavailable: {reason}" if reason else "available"
        print(f"{source.name}\t{width}x{height}x{source.channels}\t{source.description}\t{status}")


def _pair(text: str, option: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise CliError(f"{option} takes two numbers, LOW,HIGH (got {text!r})") from None
    return low, high


def parse_methods(text: str | None) -> tuple[str, ...]:
    """``--methods``: comma-separated method names, the app's four when not given."""
    import explainers

    methods = tuple(m.strip() for m in (text or ",".join(explainers.DEFAULT_METHODS)).split(",") if m.strip())
    unknown = [m for m in methods if m not in explainers.METHODS]
    if unknown or not methods:
        names = ", ".join(explainers.METHODS)
        raise CliError(f"unknown method(s) {', '.join(unknown) or '(none given)'}; choose from {names}")
    return methods


def window_for(loaded: imaging.LoadedImage, args: argparse.Namespace) -> imaging.Window:
    try:
        if args.window:
            return imaging.Window(*_pair(args.window, "--window"))
        if args.dicom_window is not None:
            presets = loaded.window_presets
            if not presets:
                raise CliError("--dicom-window: this image names no window of its own (DICOM WindowCenter/Width)")
            if not 1 <= args.dicom_window <= len(presets):
                raise CliError(f"--dicom-window takes 1..{len(presets)} for this file")
            return presets[args.dicom_window - 1][1]
        if args.percentiles:
            low, high = _pair(args.percentiles, "--percentiles")
            if not 0 <= low < high <= 100:
                raise CliError("--percentiles needs 0 <= LOW < HIGH <= 100")
            return imaging.percentile_window(loaded.values, (low, high))
    except ValueError as error:
        raise CliError(f"--window: {error}") from None
    return loaded.default_window


def model_source(args: argparse.Namespace):
    """A bundled or Keras Applications model by name, or a model file with its preprocessing and names."""
    import models

    name = args.model or models.DEFAULT_MODEL
    if not name.lower().endswith(models.MODEL_EXTENSIONS):
        if args.preprocessing or args.class_names:
            raise CliError("--preprocessing and --class-names apply to a model file, not a named model")
        try:
            source = models.get_source(name)
        except ValueError as error:
            raise CliError(str(error)) from None
        if source.unavailable_reason() and args.download_weights and source.download:
            try:
                source.download()
            except models.WeightsUnavailableError as error:
                raise CliError(f"{name}: {error}") from None
        reason = source.unavailable_reason()
        if reason:
            raise CliError(f"{name} is unavailable: {reason} (or pass --download-weights on a machine that is online)")
        return source, None
    path = Path(name)
    try:
        data = read_checked(path, lambda size: models.check_model_file(path.name, size))
        file = models.load_model_file(data, path.name)
        guess = models.guess_preset(file.model)
        preset = args.preprocessing or guess.preset
        if preset not in models.PRESETS:
            raise CliError(f"unknown preprocessing {preset!r}; choose from {', '.join(models.PRESETS)}")
        names = None
        if args.class_names:
            names = models.parse_class_names(args.class_names.read_bytes(), args.class_names.name)
        return models.uploaded_source(file, preset, names), guess
    except (models.ModelFileError, models.ClassNamesError) as error:
        raise CliError(f"{path}: {error}") from None


def read_checked(path: Path, check_size: Callable[[int], None]) -> bytes:
    """The file's bytes once ``check_size`` has accepted its size: a file over a limit is never read."""
    try:
        check_size(path.stat().st_size)
        return path.read_bytes()
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror or error}") from None


def read_image(path: str, frame: int = 1) -> imaging.LoadedImage:
    """The image at ``path``; of a multi-frame DICOM file, frame ``frame`` (1-based)."""
    if frame < 1:
        raise CliError(f"--frame counts from 1 (got {frame})")
    try:
        return imaging.load_image(read_checked(Path(path), imaging.check_image_size), frame=frame - 1)
    except imaging.ImageError as error:
        raise CliError(f"{path}: {error}") from None


def run(args: argparse.Namespace) -> dict:
    loaded = read_image(args.image, args.frame)  # before TensorFlow loads, so a bad image fails fast

    import explainers
    import models

    methods = list(parse_methods(args.methods))
    window = window_for(loaded, args)
    source, guess = model_source(args)
    model = source.load()
    names = source.class_names()
    image, inputs = source.prepare(loaded.values, window)
    outputs = explainers.predict(model, inputs[None])[0]
    if not np.isfinite(outputs).all():
        raise CliError("the model's outputs for this image are NaN or infinite; check --preprocessing or the model")
    kind = explainers.output_kind(model)
    probabilities = explainers.probabilities(model, outputs)
    if args.target is not None and not 0 <= args.target < len(outputs):
        raise CliError(f"--target {args.target} is outside 0..{len(outputs) - 1}")
    if args.layer is not None:
        try:
            models.find_layer(model, args.layer)
        except models.LayerNotFoundError as error:
            raise CliError(str(error)) from None
    try:
        explanations = explainers.explain_many(
            model, inputs, methods, target=args.target, layer=args.layer, baseline=source.black_image(), seed=args.seed
        )
    except ValueError as error:
        raise CliError(str(error)) from None

    ranked = outputs if probabilities is None else probabilities
    top = np.argsort(ranked)[::-1][:5]
    summary = {
        "model": source.name,
        "model_label": source.label,
        "preprocessing": source.preprocessing,
        "preprocessing_guess": None if guess is None else {"preset": guess.preset, "reason": guess.reason},
        "output_kind": kind,
        "image": str(args.image),
        "image_notes": list(loaded.notes),
        "window": [window.low, window.high],
        "top5": [
            {
                "index": int(i),
                "label": names[i],
                "output": float(outputs[i]),
                "probability": None if probabilities is None else float(probabilities[i]),
            }
            for i in top
        ],
        "maps": [],
    }
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    maps, chance, measured = {}, None, {}
    if args.metrics:
        import metrics

        target = int(np.argmax(outputs)) if args.target is None else args.target
        chance = metrics.random_curves(model, inputs, target, source.black_image(), seed=args.seed)
        maps["random_deletion"], maps["random_insertion"] = chance.deletion, chance.insertion
    done = []
    for explanation in explanations:
        done.append(explanation)
        info, method = explanation.info, explanation.method
        maps[method] = explanation.attribution
        if explanation.segments is not None:
            maps[f"{method}_segments"] = explanation.segments
        label = names[explanation.target]
        if args.out is not None:
            (args.out / f"{method}.png").write_bytes(
                imaging.map_figure_png(
                    image,
                    explanation.attribution,
                    signed=info.signed,
                    title=f"{info.label} · {label}",
                    caption=f"{source.name} · {explanation.elapsed_s:.2f} s",
                )
            )
        summary["maps"].append(
            {
                "method": method,
                "target": explanation.target,
                "target_label": label,
                "layer": explanation.layer,
                "score": explanation.score,
                "score_kind": explanation.score_kind,
                "elapsed_s": explanation.elapsed_s,
                "passes": explanation.passes,
                "completeness_error": explanation.completeness_error,
                "completeness_relative": explanation.completeness_relative,
                "reliability": explanation.reliability,
                "options": explanation.options,
                "passes_randomization_check": info.passes_randomization_check,
                "file": f"{method}.png",
            }
        )
        if chance is not None:
            measured[method] = measure(model, inputs, explanation, source.black_image(), args.seed)
            summary["maps"][-1] |= measurement_summary(*measured[method], chance)
            maps[f"{method}_deletion"] = measured[method][0].deletion
            maps[f"{method}_insertion"] = measured[method][0].insertion
    summary["maps"].sort(key=lambda entry: methods.index(entry["method"]))
    if args.metrics:
        summary["agreement"] = agreement_summary({m: maps[m] for m in methods})
    if args.out is not None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **maps)
        (args.out / "maps.npz").write_bytes(buffer.getvalue())
        (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=_plain) + "\n")
    if args.report is not None:
        import reports

        done.sort(key=lambda explanation: methods.index(explanation.method))
        prediction = explainers.Prediction(kind, outputs, probabilities, names)
        report = reports.compose(
            model=reports.ModelFacts.of(source, kind, next((e.layer for e in done if e.layer), None), guess),
            image=reports.ImageFacts.of(loaded, Path(args.image).name, window, image),
            prediction=prediction,
            target=prediction.ranked()[0] if args.target is None else args.target,
            explanations=done,
            faithfulness={m: curves for m, (curves, _) in measured.items()},
            chance=chance,
            randomization={m: check for m, (_, check) in measured.items()},
        )
        data = reports.render(report, report_format(args.report))
        try:
            args.report.write_bytes(data)
        except OSError as error:
            raise CliError(f"cannot write {args.report}: {error.strerror or error}") from None
    return summary


def measure(model, inputs, explanation, black: np.ndarray, seed: int):
    """One map's deletion/insertion curves and its randomisation check."""
    import metrics

    faithful = metrics.curves(model, inputs, explanation.attribution, explanation.target, black, seed=seed)
    check = metrics.randomization_check(model, inputs, explanation, baseline=black, seed=seed)
    return faithful, check


def measurement_summary(faithful, check, chance) -> dict:
    """The trust metrics of one map for ``summary.json``, beside the random order's ``chance`` curves."""
    import metrics

    return {
        "deletion_auc": faithful.deletion_auc,
        "insertion_auc": faithful.insertion_auc,
        "random_deletion_auc": chance.deletion_auc,
        "random_insertion_auc": chance.insertion_auc,
        "curve_value": faithful.value_kind,
        "randomization": {
            "passed": check.passed,
            "mean_similarity": check.mean_similarity,
            "pass_below": metrics.PASS_BELOW,
            "stages": [
                {"randomized": label, "spearman_abs": rank, "ssim": structural}
                for label, rank, structural in zip(check.stages, check.spearman, check.ssim, strict=True)
            ],
        },
    }


def agreement_summary(maps: dict[str, np.ndarray]) -> dict:
    import metrics

    return {
        "measure": "Spearman rank correlation of |map|",
        "methods": list(maps),
        "matrix": metrics.agreement(maps).round(4).tolist(),
    }


def _plain(value):
    """JSON for the numpy scalars and arrays a method's options may hold."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def parse_visualize_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cli.py visualize", description="Feature visualisation: the input that most excites a class or a channel."
    )
    parser.add_argument("--model", default=None, help="model name (see --list-models), or a .keras/.h5 file")
    parser.add_argument("--preprocessing", default=None, help="for a model file: its preset (default: guessed)")
    parser.add_argument("--class-names", type=Path, default=None, help="for a model file: JSON or TXT class names")
    parser.add_argument(
        "--download-weights", action="store_true", help="fetch a Keras Applications model's weights if missing"
    )
    parser.add_argument(
        "--target",
        type=int,
        default=None,
        help="class index whose logit to maximise; with --layer/--channel, the class whose probability the saved "
        "picture is checked for (the channel is what is maximised)",
    )
    parser.add_argument("--layer", default=None, help="with --channel: the layer whose channel to excite")
    parser.add_argument("--channel", type=int, default=None, help="with --layer: the channel index")
    parser.add_argument("--steps", type=int, default=None, help="optimisation steps (default: 128)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the starting image and the random transforms")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args(argv)
    if (args.layer is None) != (args.channel is None):
        parser.error("--layer and --channel go together")
    if args.target is None and args.layer is None:
        parser.error("give --target INDEX for a class, or --layer NAME --channel K for a channel")
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be at least 1")
    return args


def run_visualize(args: argparse.Namespace) -> dict:
    import explainers
    import models
    from introspection.feature_visualization import Settings, predict_picture, visualize

    source, _ = model_source(args)
    model = source.load()
    names = source.class_names()
    if args.target is not None and not 0 <= args.target < len(names):
        raise CliError(f"--target {args.target} is outside 0..{len(names) - 1}")
    if args.layer is not None:
        try:
            layer = models.find_layer(model, args.layer)
        except models.LayerNotFoundError as error:
            raise CliError(str(error)) from None
        channels = int(layer.output.shape[-1])
        if not 0 <= args.channel < channels:
            raise CliError(f"--channel {args.channel} is outside 0..{channels - 1} of layer {args.layer}")
        index = args.channel
    else:
        index = args.target
    settings = Settings(seed=args.seed, **({"steps": args.steps} if args.steps else {}))
    try:
        result = visualize(model, source.preprocess, index, layer=args.layer, settings=settings)
    except ValueError as error:
        raise CliError(str(error)) from None
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "visualization.png").write_bytes(imaging.png_bytes(result.image))
    outputs = predict_picture(model, source.preprocess, result.image)  # as the saved 8-bit file is seen
    probabilities = explainers.probabilities(model, outputs)
    scores = outputs if probabilities is None else probabilities
    top = int(np.argmax(scores))
    target = args.target
    summary = {
        "model": source.name,
        **result.summary(),
        "target": target,
        "target_label": None if target is None else names[target],
        "target_probability": None if target is None or probabilities is None else float(probabilities[target]),
        "saved_picture_top1": {
            "index": top,
            "label": names[top],
            "probability": None if probabilities is None else float(probabilities[top]),
        },
        "file": "visualization.png",
    }
    (args.out / "visualization.json").write_text(json.dumps(summary, indent=2, default=_plain) + "\n")
    return summary


def visualize_main(argv: list[str]) -> int:
    args = parse_visualize_args(argv)
    try:
        summary = run_visualize(args)
    except (CliError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    what = f"channel {summary['channel']} of {summary['layer']}" if summary["layer"] else summary["target_label"]
    top = summary["saved_picture_top1"]
    print(
        f"{what}: objective {summary['objective_start']:.3g} -> {summary['objective_end']:.3g} in {summary['steps']} "
        f"steps, {summary['seconds']:.1f} s -> {args.out / 'visualization.png'}; the model sees {top['label']}"
        + (f" ({top['probability']:.1%})" if top["probability"] is not None else "")
    )
    return 0


def parse_batch_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cli.py batch", description="Explain every image of a folder on Ray Data.")
    parser.add_argument("folder", type=Path, help="folder of images (one subfolder per class gives labels)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (a run on it again resumes)")
    parser.add_argument("--model", default=None, help="model name (see --list-models), or a .keras/.h5 file")
    parser.add_argument("--methods", default=None, help="comma-separated methods (default: the app's four)")
    parser.add_argument("--metrics", action="store_true", help="deletion/insertion AUCs per map and a random order's")
    parser.add_argument("--seed", type=int, default=0, help="seed of the stochastic methods and the metrics")
    parser.add_argument("--address", default=None, help="a Ray cluster to join (default: start Ray on this machine)")
    parser.add_argument("--workers", type=int, default=None, help="model actors (default: one per two cores)")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def batch_main(argv: list[str]) -> int:
    args = parse_batch_args(argv)
    try:
        import models
        from batch import Settings, run_batch

        methods = parse_methods(args.methods)
        if not args.folder.is_dir():
            raise CliError(f"{args.folder} is not a folder")
        model = args.model or models.DEFAULT_MODEL
        if not model.lower().endswith(models.MODEL_EXTENSIONS):
            source = models.get_source(model)
            if source.unavailable_reason():
                raise CliError(f"{model} is unavailable: {source.unavailable_reason()}")
        else:
            model = str(Path(model).resolve())  # the actors may run elsewhere in the folder tree
        settings = Settings(model=model, methods=methods, metrics=args.metrics, seed=args.seed)
        summary = run_batch(args.folder.resolve(), args.out, settings, address=args.address, workers=args.workers)
    except (CliError, ValueError, OSError, ConnectionError) as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return 1
    run = summary["this_run"]
    rate = f", {run['images_per_second']:.2f} images/s" if run["images_per_second"] else " (all shards were done)"
    print(
        f"{summary['explained']} of {summary['images']} images explained, {summary['failed']} failed; this run "
        f"{run['images']} images in {run['seconds']:.1f} s{rate} with {run['workers']} worker(s) on {run['address']}"
        + (f"; accuracy {summary['accuracy']:.1%}" if summary["accuracy"] is not None else "")
        + f" -> {args.out}"
    )
    for failure in summary["failures"]:
        print(f"  failed: {failure['path']}: {failure['error']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["visualize"]:
        return visualize_main(argv[1:])
    if argv[:1] == ["batch"]:
        return batch_main(argv[1:])
    args = parse_args(argv)
    try:
        if args.list_models:
            list_models()
            return 0
        summary = run(args)
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for entry in summary["maps"]:
        saved = f" -> {args.out / entry['file']}" if args.out is not None else ""
        print(f"{entry['method']}: {entry['target_label']} in {entry['elapsed_s']:.2f} s{saved}")
        if entry["reliability"] is not None:
            print(f"  reproducibility (split-half) {entry['reliability']:.2f} over {entry['passes']} samples")
        if "deletion_auc" in entry:
            check = entry["randomization"]
            verdict = {True: "passed", False: "failed"}.get(check["passed"], "not applicable: the map is constant")
            if check["passed"] is not None:
                verdict += f" (mean similarity {check['mean_similarity']:.2f})"
            print(
                f"  deletion AUC {entry['deletion_auc']:.3f} (random {entry['random_deletion_auc']:.3f}, lower is "
                f"better), insertion AUC {entry['insertion_auc']:.3f} (random {entry['random_insertion_auc']:.3f}, "
                f"higher is better); randomisation check {verdict}"
            )
    if args.report is not None:
        print(f"report -> {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
