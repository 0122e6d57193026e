"""Layers page: what one layer computes for this image, and how the class score's gradient flows back."""

from __future__ import annotations

import numpy as np
import streamlit as st

import explainers
import imaging
import introspection
from introspection.activations import RANKINGS
from ui.cache import content_key, session_cache
from ui.jobs import JobContext, current_job, progress_ui, start_job
from ui.kept import first_value, keep_across_pages
from ui.layer_charts import (
    channel_values_chart,
    dead_units_chart,
    flow_chart,
    flow_frame,
    histogram_chart,
    kernel_pattern_chart,
    norms_chart,
    units_chart,
)
from ui.model_choice import ChosenModel
from ui.prediction import Case, case_ui, choices_ui, prediction_ui, predictions_chart
from ui.profile import phase

TILES_PER_PAGE = 48
TILE_PX = 88


def layer_ui(chosen: ChosenModel, layers: list) -> str:
    """Any layer with one output, grouped by block; the CAM layer (or the last one) first chosen."""
    paths = [info.path for info in layers]
    by_path = {info.path: info for info in layers}
    key = f"inside_layer_{chosen.source.name}"
    start = paths.index(chosen.layer) if chosen.layer in by_path else len(paths) - 1
    return st.selectbox(
        "Layer",
        paths,
        format_func=lambda path: (
            f"{by_path[path].block} › {by_path[path].name} · {by_path[path].class_name} · {by_path[path].shape_text}"
        ),
        key=key,
        **first_value(key, index=start),
        help="Every layer of the model, nested models opened up, in the order the image goes through them. "
        "Type to search.",
    )


def recording_for(case: Case, target: int, layer: str) -> introspection.LayerRecording:
    """One forward and backward pass over every layer, kept per image, model, class and layer shown."""
    key = (content_key(case.inputs), case.chosen.source.name, target, layer)
    with phase("record layers"):
        return session_cache("layers").get_or_compute(
            key, lambda: introspection.record_layers(case.chosen.model, case.inputs, target, keep=(layer,))
        )


def channel_detail_ui(case: Case, activity: introspection.LayerActivity, channel: int, rank: int, by: str) -> None:
    left, middle, right = st.columns([1, 1, 1])
    over = activity.channel_over_input(channel, case.image.shape[:2])
    signed = bool((over < 0).any())
    picture = imaging.map_overlay(case.image, over, signed=signed, opacity=0.6, normalisation="max")
    left.image(
        imaging.png_bytes(picture),
        caption=f"Channel {channel} over the image (upsampled from {activity.layer.shape_text.rsplit('x', 1)[0]})",
        width="stretch",
        output_format="PNG",
    )
    middle.altair_chart(channel_values_chart(activity.channel(channel)), width="stretch")
    with right:
        st.metric(f"Rank by {by}", f"{rank + 1} of {activity.channel_count}")
        if activity.contribution is not None:
            st.metric("Contribution to the class", f"{activity.contribution[channel]:.3g}")
            st.caption(
                f"Mean gradient {activity.mean_gradient[channel]:.3g} × mean activation "
                f"{activity.mean_activation[channel]:.3g}: this channel's share of Grad-CAM's map at this layer."
            )
        else:
            st.metric("Mean activation", f"{activity.mean_activation[channel]:.3g}")
            st.caption("The class score does not depend on this layer (it comes after the score).")


def channel_picker_ui(activity: introspection.LayerActivity, ranked: np.ndarray) -> tuple[int, int]:
    """A channel to look at, in rank order; returns (channel, rank)."""
    values = activity.contribution if activity.contribution is not None else activity.mean_activation
    position = {int(channel): rank for rank, channel in enumerate(ranked)}
    channel = st.selectbox(
        "Channel",
        [int(channel) for channel in ranked],
        format_func=lambda k: f"#{k} · rank {position[k] + 1} · {values[k]:.3g}",
        key=f"inside_channel_{activity.layer.path}",
    )
    return channel, position[channel]


def channel_grid_ui(activity: introspection.LayerActivity, ranked: np.ndarray, by: str) -> None:
    count = activity.channel_count
    pages = max(1, -(-count // TILES_PER_PAGE))
    left, right = st.columns([1, 3])
    page = int(
        left.number_input(
            f"Page (of {pages})", min_value=1, max_value=pages, step=1, key=f"inside_page_{activity.layer.path}"
        )
    )
    joint = right.toggle(
        "One scale for every tile",
        key="inside_joint",
        help="Off: each tile is scaled to its own largest value, so weak channels show their pattern. On: all "
        "share the largest value on this page, so tiles compare.",
    )
    shown = ranked[(page - 1) * TILES_PER_PAGE : page * TILES_PER_PAGE]
    values = activity.contribution if by == "contribution" and activity.contribution is not None else None
    tiles = imaging.channel_tiles(np.stack([activity.channel(int(k)) for k in shown]), joint=joint, size=TILE_PX)
    captions = [f"#{k}" + (f" · {values[k]:.2g}" if values is not None else "") for k in shown]
    st.caption(
        f"Channels {(page - 1) * TILES_PER_PAGE + 1}–{(page - 1) * TILES_PER_PAGE + len(shown)} of {count}, "
        f"by {RANKINGS[by]}. "
        + (
            "Blue below zero, red above (this layer's output has negative values)."
            if (activity.activations < 0).any()
            else "Dark is zero, bright the largest value."
        )
    )
    st.image(tiles, caption=captions, width=TILE_PX)


def channels_ui(case: Case, activity: introspection.LayerActivity) -> None:
    by = st.radio(
        "Order channels by",
        list(RANKINGS),
        format_func=RANKINGS.get,
        horizontal=True,
        key="inside_rank",
        disabled=activity.contribution is None,
    )
    if activity.contribution is None:
        by = "activation"
    ranked = activity.ranked(by)
    noun = "channels" if activity.is_spatial else "units"
    st.markdown(
        f"**{activity.layer.path}** ({activity.layer.class_name}, output {activity.layer.shape_text}): "
        f"{activity.channel_count} {noun}, **{activity.dead_fraction:.0%} never active** for this image "
        f"(no value above zero anywhere)."
    )
    if activity.is_spatial:
        channel_grid_ui(activity, ranked, by)
    else:
        st.altair_chart(units_chart(activity, ranked, by), width="stretch")
    channel, rank = channel_picker_ui(activity, ranked)
    if activity.is_spatial:
        channel_detail_ui(case, activity, channel, rank, by)
    else:
        st.metric(f"Unit {channel}: activation", f"{activity.mean_activation[channel]:.3g}")


def flow_ui(recording: introspection.LayerRecording, chosen_layer: str) -> None:
    frame = flow_frame(recording.flow)
    st.altair_chart(
        flow_chart(
            frame,
            "gradient norm",
            chosen_layer,
            "‖∂ score / ∂ activation‖: the class score's gradient at each layer, as backpropagation hands it down",
        ),
        width="stretch",
    )
    st.altair_chart(
        flow_chart(frame, "activation RMS", chosen_layer, "Activation size per layer (root mean square per value)"),
        width="stretch",
    )
    st.altair_chart(dead_units_chart(frame, chosen_layer), width="stretch")
    past_score = int(frame["gradient norm"].isna().sum())
    zero = int((frame["gradient norm"] == 0).sum())
    notes = ["The red line marks the chosen layer; hover a point for its layer."]
    if past_score:
        notes.append(f"{past_score} layer(s) after the class score (a final softmax) have no gradient.")
    if zero:
        notes.append(f"{zero} layer(s) pass no gradient to the score for this image (all zero) and are not drawn.")
    st.caption(" ".join(notes))
    with st.expander("Every layer's numbers"):
        st.dataframe(
            frame,
            hide_index=True,
            column_config={
                "gradient norm": st.column_config.NumberColumn(format="%.3g"),
                "activation RMS": st.column_config.NumberColumn(format="%.3g"),
                "never active": st.column_config.NumberColumn(format="percent"),
            },
        )


def first_filters_ui(chosen: ChosenModel) -> None:
    path = introspection.first_conv_layer(chosen.model)
    if path is None:
        st.caption("This model has no 2-D convolution, so there are no first-layer filters to show.")
        return
    weights = introspection.layer_weights(chosen.model, path)
    kernel = weights.kernel
    joint = st.toggle(
        "One scale for every filter",
        key="inside_filters_joint",
        help="Off: each filter stretched to its own range, to see its pattern. On: all on one scale (grey is zero), "
        "so their strengths compare.",
    )
    bgr = chosen.source.reads_bgr()
    pictures = introspection.kernel_pictures(kernel, joint=joint, bgr=bgr)
    colour = {3: "in colour" + (" (the model reads BGR; shown as RGB)" if bgr else ""), 1: "in gray"}
    shown = colour.get(kernel.shape[2], "as the mean over its inputs, in gray")
    st.markdown(
        f"**First convolution, `{path}`**: {kernel.shape[-1]} filters of {kernel.shape[0]}x{kernel.shape[1]} "
        f"over {kernel.shape[2]} input channel(s), {shown}."
    )
    tiles = [imaging.resized_tile(picture, 48).astype(np.uint8) for picture in pictures]
    st.image(tiles, caption=[f"#{k}" for k in range(len(tiles))], width=48)


def layer_weights_ui(chosen: ChosenModel, path: str) -> None:
    weights = introspection.layer_weights(chosen.model, path)
    if weights is None:
        st.caption(
            f"`{path}` has no weights of its own to show (only convolutions, dense and batch-norm layers have). "
            "Pick one of those in the Layer box."
        )
        return
    kind = introspection.weights.KINDS[weights.kind]
    if weights.kind == "batch_norm":
        st.markdown(
            f"**`{path}`**, {kind}: each channel is scaled by gamma / sqrt(variance + epsilon) and shifted; "
            f"{len(weights.moving_variance)} channels."
        )
        named = {"effective scale": weights.effective_scale(), "moving mean": weights.moving_mean}
        if weights.beta is not None:
            named["shift (beta)"] = weights.beta
        st.altair_chart(histogram_chart(named, "Per channel"), width="content")
        return
    st.markdown(
        f"**`{path}`**, {kind}: kernel {'x'.join(map(str, weights.kernel.shape))}, L2 norm {weights.kernel_norm:.3g}"
        + (f"; bias of {len(weights.bias)}, norm {weights.bias_norm:.3g}" if weights.bias is not None else "; no bias")
        + "."
    )
    left, right = st.columns([3, 1])
    named = {"kernel": weights.kernel} | ({"bias": weights.bias} if weights.bias is not None else {})
    left.altair_chart(histogram_chart(named, "Weights and biases"), width="content")
    pattern = weights.spatial_pattern()
    if pattern is not None and pattern.size > 1:
        right.altair_chart(kernel_pattern_chart(pattern), width="content")


def weights_ui(chosen: ChosenModel, path: str) -> None:
    first_filters_ui(chosen)
    st.divider()
    layer_weights_ui(chosen, path)
    all_weights = introspection.weighted_layers(chosen.model)
    if any(w.kernel_norm is not None for w in all_weights):
        st.altair_chart(norms_chart(all_weights, path), width="stretch")


def visualization_settings_ui() -> introspection.Settings:
    left, middle, right = st.columns(3)
    steps = left.slider("Steps", 16, 512, step=16, key="inside_fv_steps", **first_value("inside_fv_steps", value=128))
    seed = middle.number_input("Seed", min_value=0, step=1, key="inside_fv_seed")
    copies = right.slider(
        "Transformed copies per step",
        1,
        8,
        key="inside_fv_copies",
        **first_value("inside_fv_copies", value=4),
        help="Each step scores this many randomly shifted, scaled and rotated copies: more makes the picture "
        "robust (and slower).",
    )
    with st.expander("Regularisation"):
        left, middle, right = st.columns(3)
        total_variation = left.number_input("Total variation weight", min_value=0.0, step=0.5, key="inside_fv_tv")
        l2 = middle.number_input("L2 weight", min_value=0.0, step=0.5, key="inside_fv_l2")
        decorrelate = right.toggle(
            "Decorrelated colours", key="inside_fv_decorrelate", **first_value("inside_fv_decorrelate", value=True)
        )
    return introspection.Settings(
        steps=int(steps),
        seed=int(seed),
        copies=int(copies),
        total_variation=float(total_variation),
        l2=float(l2),
        decorrelate=decorrelate,
    )


def visualization_result_ui(case: Case, result: introspection.Visualization, what: str) -> None:
    left, right = st.columns([1, 2])
    picture = result.image
    shown = imaging.resized_tile(picture, 448).astype(np.uint8) if max(picture.shape[:2]) < 224 else picture
    left.image(imaging.png_bytes(shown), caption=f"{what} ({picture.shape[1]}x{picture.shape[0]})", width="stretch")
    model = case.chosen.model
    outputs = introspection.predict_picture(model, case.chosen.source.preprocess, picture)
    with right:
        verb = "stopped after" if result.stopped else "in"
        st.markdown(
            f"Objective **{result.objective_start:.3g} → {result.objective_end:.3g}** {verb} {result.steps} steps, "
            f"{result.seconds:.1f} s (on the saved 8-bit picture, untransformed)."
        )
        prediction = explainers.Prediction(
            case.prediction.kind, outputs, explainers.probabilities(model, outputs), case.prediction.names
        )
        st.altair_chart(predictions_chart(prediction).properties(title="What the model sees in it"), width="stretch")
        st.download_button(
            "Download PNG",
            imaging.png_bytes(picture),
            file_name="visualization.png",
            mime="image/png",
            key="download_visualization",
            icon=":material/download:",
            on_click="ignore",
        )
    st.caption(
        "Can mislead: the picture shows what drives the objective under the model's own statistics, not what the "
        "class looks like to people; strong, repeated textures are normal. Olah et al., Distill 2017."
    )


def feature_visualization_ui(case: Case, target: int, layer: str, activity: introspection.LayerActivity) -> None:
    st.caption(
        "Activation maximisation: an input optimised, by gradient ascent through the model, to raise the "
        "objective as far as it goes; Fourier-parametrised, colour-decorrelated and scored under random shifts, "
        "scalings and rotations so that it shows patterns rather than noise."
    )
    names = case.prediction.names
    objective = st.radio(
        "Maximise",
        ["class", "channel"],
        format_func=lambda kind: (
            f"the class {names[target]} (its logit)"
            if kind == "class"
            else f"one channel of {layer} (its mean, before the layer's activation)"
        ),
        horizontal=True,
        key="inside_fv_objective",
    )
    channel = None
    if objective == "channel":
        ranked = activity.ranked("contribution" if activity.contribution is not None else "activation")
        channel = int(
            st.number_input(
                f"Channel (0..{activity.channel_count - 1}; the top one for this class is {int(ranked[0])})",
                min_value=0,
                max_value=activity.channel_count - 1,
                step=1,
                key=f"inside_fv_channel_{layer}",
                **first_value(f"inside_fv_channel_{layer}", value=int(ranked[0])),
            )
        )
    settings = visualization_settings_ui()
    model, source = case.chosen.model, case.chosen.source
    index, objective_layer = (target, None) if channel is None else (channel, layer)
    key = (source.name, index, objective_layer, settings)
    what = f"{names[target]}" if channel is None else f"channel {channel} of {layer}"
    results = session_cache("visualizations")
    job = current_job("feature_visualization")
    if job is not None and job.done and job.key == key and results.get(key) is None:
        if job.error:
            st.error(f"The visualisation failed: {job.error}", icon=":material/error:")
        elif job.result is not None:
            results.put(key, job.result)
    cached = results.get(key)
    running = job is not None and job.running
    if cached is None and st.button("Visualise", type="primary", icon=":material/auto_awesome:", disabled=running):

        def work(context: JobContext) -> introspection.Visualization:
            return introspection.visualize(
                model,
                source.preprocess,
                index,
                layer=objective_layer,
                settings=settings,
                progress=lambda step, steps, value: context.report(
                    step / steps, f"Step {step} of {steps}: objective {value:.3g}"
                ),
                should_stop=context.should_stop,
            )

        start_job("feature_visualization", key, work)
    progress_ui("feature_visualization")
    if cached is not None:
        visualization_result_ui(case, cached, what)


def main() -> None:
    keep_across_pages()
    st.title("Inside the network")
    st.caption(
        "What one layer computes for this image, which of its channels the class depends on, and how the class "
        "score's gradient flows back through the layers. Same model, image and class as the Compare page."
    )
    case = case_ui(*choices_ui())
    if case is None:
        return
    chosen = case.chosen
    target = prediction_ui(case.picked, case.image, case.prediction)
    layers = introspection.inspectable_layers(chosen.model)
    layer = layer_ui(chosen, layers)
    recording = recording_for(case, target, layer)
    explained = "its logit" if recording.score_kind == "logit" else "the model output"
    st.caption(
        f"{case.prediction.names[target]}: {explained} ({recording.score:.3g}) is differentiated with respect to "
        "every layer's output in one forward and backward pass."
    )
    channels_tab, flow_tab, weights_tab, visualization_tab = st.tabs(
        ["Channels of this layer", "Gradient flow through all layers", "Filters and weights", "Feature visualisation"]
    )
    with channels_tab:
        channels_ui(case, recording.activity(layer))
    with flow_tab:
        flow_ui(recording, layer)
    with weights_tab:
        weights_ui(chosen, layer)
    with visualization_tab:
        feature_visualization_ui(case, target, layer, recording.activity(layer))


main()
