"""Modified backward passes (DeepLIFT, LRP): rules mapped onto layer types, installed while a function traces.

As in zennit, a rule is a small object and a composite says which rule each kind of layer gets. The rules are
written as forward tricks rather than custom gradients: a layer returns ``stop_gradient(y) + m * (z -
stop_gradient(z))`` (DeepLIFT) or ``stop_gradient(z) + (z_rho - stop_gradient(z_rho)) * stop_gradient(z /
z_rho)`` (LRP), so the forward values are the model's own and the ordinary input gradient of the score is the
method's multiplier, or (times the input) its relevance. No custom gradient means no trouble with layers that
read variables (PReLU). Hooks are those of :mod:`explainers._hooks`, installed only while
:meth:`explainers._graph.ModelGraph.rule_pass` traces; the same code serves Sequential, functional and nested
models.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import keras
import tensorflow as tf
from keras.src.layers.convolutional.base_conv import BaseConv
from keras.src.layers.convolutional.base_depthwise_conv import BaseDepthwiseConv

from explainers._hooks import activation_name, hook, swapped_activation
from models.layers import iter_layers

# What each layer type does to a signal, as far as the rules care.
_CARRY_SHAPE = (
    keras.layers.ZeroPadding1D,
    keras.layers.ZeroPadding2D,
    keras.layers.ZeroPadding3D,
    keras.layers.Cropping1D,
    keras.layers.Cropping2D,
    keras.layers.Cropping3D,
    keras.layers.Reshape,
    keras.layers.Flatten,
    keras.layers.Permute,
    keras.layers.UpSampling1D,
    keras.layers.UpSampling2D,
    keras.layers.UpSampling3D,
)
"""Layers that move pixels: the flat rule's all-ones image goes through them too."""
_IDENTITY_AT_INFERENCE = (
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D,
    keras.layers.GaussianDropout,
    keras.layers.GaussianNoise,
    keras.layers.AlphaDropout,
    keras.layers.Identity,
)
_LINEAR = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
    keras.layers.Dense,
    keras.layers.EinsumDense,
    keras.layers.BatchNormalization,
    keras.layers.Add,
    keras.layers.Subtract,
    keras.layers.Average,
    keras.layers.Concatenate,
    keras.layers.AveragePooling1D,
    keras.layers.AveragePooling2D,
    keras.layers.AveragePooling3D,
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D,
    keras.layers.Rescaling,
    keras.layers.Normalization,
    keras.layers.InputLayer,
    *_CARRY_SHAPE,
    *_IDENTITY_AT_INFERENCE,
)
"""Linear (or affine) at inference: gradients through them are already what both methods need."""
_ELEMENTWISE = (keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.PReLU)
_MAXIMUM = (
    keras.layers.MaxPooling1D,
    keras.layers.MaxPooling2D,
    keras.layers.MaxPooling3D,
    keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.GlobalMaxPooling3D,
)
_NOT_ELEMENTWISE_ACTIVATIONS = ("softmax", "log_softmax")


def layer_kind(layer: keras.layers.Layer) -> str:
    """``linear``, ``elementwise`` (an activation), ``product`` (two inputs multiplied), ``maximum`` (max
    pooling) or ``other``: what a rule has to do at this layer. A linear layer may carry an activation too."""
    if isinstance(layer, keras.layers.Activation):
        return "other" if activation_name(layer) in _NOT_ELEMENTWISE_ACTIVATIONS else "elementwise"
    if isinstance(layer, _ELEMENTWISE):
        return "elementwise"
    if isinstance(layer, keras.layers.Multiply):
        return "product"
    if isinstance(layer, _MAXIMUM):
        return "maximum"
    if isinstance(layer, _LINEAR):
        return "linear"
    return "other"


def _has_activation(layer: keras.layers.Layer) -> bool:
    """A linear layer that applies a built-in elementwise activation after its linear part
    (``Conv2D(activation="relu")``)."""
    name = activation_name(layer)
    return not isinstance(layer, keras.layers.Activation) and name not in ("", "linear", *_NOT_ELEMENTWISE_ACTIVATIONS)


def _derivative(function: Callable[[tf.Tensor], tf.Tensor], z: tf.Tensor) -> tf.Tensor:
    """The elementwise derivative of an elementwise ``function`` at ``z``."""
    with tf.GradientTape() as tape:
        tape.watch(z)
        y = function(z)
    return tape.gradient(y, z)


# -- DeepLIFT -------------------------------------------------------------------------------------------------

RESCALE_THRESHOLD = 1e-6
"""Below this |z - z'| the rescale multiplier (a 0/0) is replaced by the local derivative (captum: 1e-10 in
float64; float32 needs a wider margin)."""


def _halves(tensor: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    half = tf.shape(tensor)[0] // 2
    return tensor[:half], tensor[half:]


def _rescaled(function: Callable[[tf.Tensor], tf.Tensor]) -> Callable[[tf.Tensor], tf.Tensor]:
    """``function`` whose gradient is DeepLIFT's multiplier ``(f(z) - f(z')) / (z - z')``.

    The batch holds the inputs in its first half and their references in the second; both halves get the
    multiplier of their pair (only the first half's gradient is used).
    """

    def apply(z: tf.Tensor) -> tf.Tensor:
        y = function(z)
        (z_input, z_reference), (y_input, y_reference) = _halves(z), _halves(y)
        difference = z_input - z_reference
        tiny = tf.abs(difference) < RESCALE_THRESHOLD
        local = _derivative(function, z_input)
        multiplier = tf.where(tiny, local, (y_input - y_reference) / tf.where(tiny, 1.0, difference))
        multiplier = tf.stop_gradient(tf.concat([multiplier, multiplier], axis=0))
        return tf.stop_gradient(y) + multiplier * (z - tf.stop_gradient(z))

    return apply


def _product_rule(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """``a * b`` whose gradients split the change exactly: ab - a'b' = mean(b) (a - a') + mean(a) (b - b')."""
    a_input, a_reference = _halves(a)
    b_input, b_reference = _halves(b)
    mean_a = tf.stop_gradient(tf.concat([(a_input + a_reference) / 2] * 2, axis=0))
    mean_b = tf.stop_gradient(tf.concat([(b_input + b_reference) / 2] * 2, axis=0))
    return tf.stop_gradient(a * b) + mean_b * (a - tf.stop_gradient(a)) + mean_a * (b - tf.stop_gradient(b))


def deeplift_approximations(model: keras.Model, skip: keras.layers.Layer | None = None) -> list[str]:
    """Layers where DeepLIFT's rescale rule falls back to the plain gradient, by class name (one entry each).

    Max pooling and any other non-elementwise nonlinearity (layer normalisation, a softmax inside the model, a
    Multiply of more than two inputs, an unknown layer): the attributions then no longer add up exactly to
    ``f(x) - f(x')``, and the conservation error says by how much. ``skip`` is the final softmax/sigmoid,
    which the methods never differentiate through.
    """
    found = []
    for layer in iter_layers(model):
        if layer is skip:
            continue
        kind = layer_kind(layer)
        softmax_inside = kind == "linear" and activation_name(layer) in _NOT_ELEMENTWISE_ACTIVATIONS
        if kind in ("maximum", "other") or softmax_inside or (kind == "product" and len(_input_count(layer)) != 2):
            found.append(type(layer).__name__)
    return found


def _input_count(layer: keras.layers.Layer) -> list:
    try:
        inputs = layer.input
    except (AttributeError, ValueError):
        return []
    return inputs if isinstance(inputs, list | tuple) else [inputs]


class DeepLiftRule:
    """The rescale rule over a batch of inputs then references; the objective is the inputs' scores."""

    key = ("deeplift",)

    @contextlib.contextmanager
    def installed(self, model: keras.Model, batch: tf.Tensor, tape: tf.GradientTape, skip=None) -> Iterator[list]:
        with deeplift_rescale(model):
            yield []

    def objective(self, scores: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(_halves(scores)[0])

    def results(self, batch: tf.Tensor, gradients: list[tf.Tensor]) -> dict[str, tf.Tensor]:
        return {"input_gradients": gradients[0]}


@contextlib.contextmanager
def deeplift_rescale(model: keras.Model) -> Iterator[None]:
    """While tracing: every elementwise nonlinearity backpropagates DeepLIFT's rescale multiplier, and every
    two-input Multiply the exact product split. The traced batch is inputs then references, half and half."""
    with contextlib.ExitStack() as stack:
        for layer in iter_layers(model):
            kind = layer_kind(layer)
            if kind == "elementwise" and isinstance(layer, keras.layers.Activation):
                stack.enter_context(swapped_activation(layer, _rescaled(layer.activation)))
            elif kind == "elementwise":

                def record(original, args, kwargs):
                    return _rescaled(lambda z: original(z, *args[1:], **kwargs))(args[0])

                stack.enter_context(hook(layer, record))
            elif kind == "product":

                def multiply(original, args, kwargs):
                    factors = args[0]
                    if len(factors) != 2:
                        return original(*args, **kwargs)
                    return _product_rule(*factors)

                stack.enter_context(hook(layer, multiply))
            elif kind == "linear" and _has_activation(layer):
                stack.enter_context(swapped_activation(layer, _rescaled(layer.activation)))
        yield


# -- LRP ------------------------------------------------------------------------------------------------------

STABILIZER = 1e-6
"""Added to a rule's denominator, with its sign (zennit's default stabiliser)."""


class UnsupportedLayerError(ValueError):
    """A layer LRP has no rule for: the map would be wrong, so none is drawn."""


@dataclass(frozen=True)
class LrpComposite:
    """Which LRP rule each role of layer gets (Montavon et al., 2019, "Layer-Wise Relevance Propagation: An
    Overview"; zennit's composites). Roles: ``first`` (linear layers that read the image), ``conv`` and
    ``dense``. Rules: ``zero`` (LRP-0), ``epsilon``, ``zplus`` (z+, alpha1-beta0), ``alpha2_beta1``, ``flat``
    (first layer only: relevance spread evenly over the receptive field). Activations, normalisations that
    cannot be folded, and the input scaling layers pass relevance on unchanged; sums and average pooling split
    it in proportion to the contributions (the z rule), max pooling gives it to the maximum, a Multiply gives
    it all to the signal and none to its gate. Batch norm is folded into the convolution or dense layer just
    before it, first."""

    name: str
    label: str
    first: str
    conv: str
    dense: str
    epsilon: float = 1e-6

    @property
    def key(self) -> tuple:
        return ("lrp", self.name)

    @contextlib.contextmanager
    def installed(self, model: keras.Model, batch: tf.Tensor, tape: tf.GradientTape, skip=None) -> Iterator[list]:
        ones = tf.ones_like(batch)  # the image as the flat rule sees it: every pixel 1
        tape.watch(ones)
        with _LrpTrace(self, model, {batch.ref(): ones}, skip).installed():
            yield [ones]

    def objective(self, scores: tf.Tensor) -> tf.Tensor:
        return tf.reduce_sum(scores)

    def results(self, batch: tf.Tensor, gradients: list[tf.Tensor]) -> dict[str, tf.Tensor]:
        through_image, through_flat = gradients
        return {"relevance": batch * through_image + through_flat}


COMPOSITES = {
    composite.name: composite
    for composite in (
        LrpComposite(
            "epsilon_plus_flat",
            "ε-z⁺-flat (first layer flat, convolutions z⁺, dense layers ε)",
            first="flat",
            conv="zplus",
            dense="epsilon",
        ),
        LrpComposite(
            "epsilon_alpha2_beta1_flat",
            "ε-α2β1-flat (first layer flat, convolutions α=2 β=1, dense layers ε)",
            first="flat",
            conv="alpha2_beta1",
            dense="epsilon",
        ),
        LrpComposite("epsilon", "ε = 0.25 everywhere", first="epsilon", conv="epsilon", dense="epsilon", epsilon=0.25),
        LrpComposite("zero", "LRP-0 everywhere (gradient x input on ReLU networks)", "zero", "zero", "zero"),
        LrpComposite("zplus", "z⁺ everywhere (for non-negative inputs)", "zplus", "zplus", "zplus"),
    )
}

_KERNEL_LAYERS = (BaseConv, BaseDepthwiseConv, keras.layers.Dense)
"""Linear layers whose map the rules recompute with changed weights."""
_ELEMENTWISE_AFFINE = (keras.layers.Rescaling, keras.layers.Normalization, keras.layers.BatchNormalization)


def _stabilized(values: tf.Tensor, epsilon: float) -> tf.Tensor:
    return values + epsilon * tf.where(values >= 0, 1.0, -1.0)


def _redistributed(z: tf.Tensor, z_rho: tf.Tensor, epsilon: float) -> tf.Tensor:
    """Forward value ``z``; backward, relevance ``R`` reaching ``z`` goes to the inputs as ``a * dz_rho/da * R /
    z_rho`` (the generic LRP step: ``z_rho`` holds the rule's contributions of the inputs)."""
    return tf.stop_gradient(z) + (z_rho - tf.stop_gradient(z_rho)) * tf.stop_gradient(z / _stabilized(z_rho, epsilon))


def _passed_on(y: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
    """Forward value ``y``; backward, the relevance reaching ``y`` goes to ``x`` unchanged (an activation)."""
    return tf.stop_gradient(y) + tf.stop_gradient(y / _stabilized(x, 1e-12)) * (x - tf.stop_gradient(x))


def _plain_relu(layer: keras.layers.Layer) -> bool:
    """A ReLU whose gradient already passes relevance on exactly (relu(z) = z * relu'(z))."""
    if isinstance(layer, keras.layers.ReLU):
        return not layer.max_value and not layer.negative_slope and not layer.threshold
    return activation_name(layer) == "relu"


def _reads_rectified(layer: keras.layers.Layer) -> bool:
    """Whether the layer's only input comes straight from a ReLU (or ReLU6): then it is never negative."""
    if len(layer._inbound_nodes) != 1 or len(layer._inbound_nodes[0].input_tensors) != 1:
        return False
    producer = layer._inbound_nodes[0].input_tensors[0]._keras_history.operation
    if isinstance(producer, keras.layers.ReLU):
        return not producer.negative_slope and not producer.threshold
    return activation_name(producer) in ("relu", "relu6")


def _folded_pairs(model: keras.Model) -> dict[keras.layers.Layer, keras.layers.Layer]:
    """Batch norms that directly follow a convolution or dense layer used once, mapped to that layer."""
    pairs = {}
    for layer in iter_layers(model):
        if not isinstance(layer, keras.layers.BatchNormalization) or len(layer._inbound_nodes) != 1:
            continue
        tensors = layer._inbound_nodes[0].input_tensors
        producer = tensors[0]._keras_history.operation if len(tensors) == 1 else None
        if (
            isinstance(producer, _KERNEL_LAYERS)
            and getattr(producer, "data_format", "channels_last") == "channels_last"
            and activation_name(producer) in ("", "linear")
            and len(producer._inbound_nodes) == 1
            and len(producer._outbound_nodes) == 1
            and layer.axis in (-1, len(tensors[0].shape) - 1)
        ):
            pairs[layer] = producer
    return pairs


def _linear_map(layer: keras.layers.Layer, inputs: tf.Tensor, kernel: tf.Tensor) -> tf.Tensor:
    """The layer's linear map (no bias) with ``kernel`` in place of its own."""
    if isinstance(layer, BaseDepthwiseConv):
        return keras.ops.depthwise_conv(
            inputs, kernel, layer.strides, layer.padding, layer.data_format, layer.dilation_rate
        )
    if isinstance(layer, BaseConv):
        return layer.convolution_op(inputs, kernel)
    return keras.ops.matmul(inputs, kernel)


def _parameters(layer: keras.layers.Layer, norm: keras.layers.Layer | None) -> tuple[tf.Tensor, tf.Tensor]:
    """Kernel and bias of ``layer``, with the batch norm ``norm`` that follows it folded in."""
    kernel = tf.convert_to_tensor(layer.kernel)
    channels = kernel.shape[-2] * kernel.shape[-1] if isinstance(layer, BaseDepthwiseConv) else kernel.shape[-1]
    bias = tf.convert_to_tensor(layer.bias) if getattr(layer, "use_bias", False) else tf.zeros(channels)
    if norm is None:
        return kernel, bias
    scale = tf.math.rsqrt(tf.convert_to_tensor(norm.moving_variance) + norm.epsilon)
    if norm.scale:
        scale = scale * tf.convert_to_tensor(norm.gamma)
    shift = tf.convert_to_tensor(norm.beta) if norm.center else tf.zeros_like(scale)
    bias = (bias - tf.convert_to_tensor(norm.moving_mean)) * scale + shift
    return kernel * tf.reshape(scale, kernel.shape[-2:] if isinstance(layer, BaseDepthwiseConv) else (-1,)), bias


def lrp_unsupported(model: keras.Model, skip=None) -> str | None:
    """Why LRP cannot explain ``model`` (the first layer no rule covers), or None when every layer has one."""
    trace = _LrpTrace(COMPOSITES["zero"], model, {}, skip)
    try:
        for layer in iter_layers(model):
            trace._behaviour(layer)
    except UnsupportedLayerError as error:
        return str(error)
    return None


class _LrpTrace:
    """The hooks of one trace: which rule each layer applies, and the flat rule's all-ones image."""

    def __init__(self, composite: LrpComposite, model: keras.Model, shadows: dict, skip) -> None:
        self.composite, self.model, self.skip = composite, model, skip
        self.shadows = shadows  # tensor.ref() -> the all-ones image carried to that tensor
        self.folded = _folded_pairs(model)
        self.folded_into = {producer: norm for norm, producer in self.folded.items()}
        self.pending: dict = {}  # output.ref() of a layer whose batch norm applies its rule -> its input
        self.rectified = {layer for layer in iter_layers(model) if _reads_rectified(layer)}

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for layer in iter_layers(self.model):
                behaviour = self._behaviour(layer)
                if behaviour is not None:
                    stack.enter_context(hook(layer, functools.partial(behaviour, layer)))
            yield

    def _behaviour(self, layer: keras.layers.Layer) -> Callable | None:
        """What the layer does in the backward pass, as a hook; None where its gradient is already the rule."""
        kind = layer_kind(layer)
        if isinstance(layer, _KERNEL_LAYERS) and getattr(layer, "data_format", "channels_last") == "channels_last":
            return self._kernel_layer
        if layer is self.skip:  # the final softmax or sigmoid: scores are taken before it
            return None
        if isinstance(layer, keras.layers.BatchNormalization) and layer in self.folded:
            return self._folded_norm
        if isinstance(layer, _ELEMENTWISE_AFFINE) or (kind == "elementwise" and not _plain_relu(layer)):
            return self._pass_on
        if isinstance(layer, _CARRY_SHAPE + _IDENTITY_AT_INFERENCE):
            return self._carry_shadow
        if kind == "product":
            return self._gate
        if kind in ("linear", "maximum", "elementwise") and not _has_activation(layer):
            return None  # sums, averages, concatenation, max pooling, plain ReLUs
        described = type(layer).__name__ + (" with a built-in activation" if kind != "other" else "")
        raise UnsupportedLayerError(f"LRP has no rule for layer {layer.name!r} ({described})")

    def _role(self, layer: keras.layers.Layer, reads_image: bool) -> str:
        if reads_image:
            return self.composite.first
        return self.composite.dense if isinstance(layer, keras.layers.Dense) else self.composite.conv

    def _apply(self, layer, z: tf.Tensor, inputs: tf.Tensor, norm) -> tf.Tensor:
        """``z``, the layer's output (after the folded batch norm ``norm``), carrying its rule backward."""
        ones = self.shadows.get(inputs.ref())
        rule = self._role(layer, ones is not None)
        if rule == "flat" and ones is None:
            rule = "epsilon"
        if rule == "zero":
            return z
        if rule == "epsilon":
            return _redistributed(z, z, self.composite.epsilon)  # z is differentiable: its gradient is the kernel
        kernel, _ = _parameters(layer, norm)
        if rule == "flat":
            return _redistributed(z, _linear_map(layer, ones, tf.ones_like(kernel)), STABILIZER)
        positive_w, negative_w = tf.nn.relu(kernel), tf.minimum(kernel, 0.0)
        if layer in self.rectified:  # inputs >= 0: half the work
            z_positive, z_negative = _linear_map(layer, inputs, positive_w), _linear_map(layer, inputs, negative_w)
        else:
            positive_in, negative_in = tf.nn.relu(inputs), tf.minimum(inputs, 0.0)
            z_positive = _linear_map(layer, positive_in, positive_w) + _linear_map(layer, negative_in, negative_w)
            z_negative = _linear_map(layer, positive_in, negative_w) + _linear_map(layer, negative_in, positive_w)
        if rule == "zplus":
            return _redistributed(z, z_positive, STABILIZER)
        alpha, beta = 2.0, 1.0
        return tf.stop_gradient(z) + alpha * _share(z, z_positive) - beta * _share(z, z_negative)

    def _kernel_layer(self, layer, original, args, kwargs):
        inputs = args[0]
        activation = layer.activation if _has_activation(layer) else None
        if activation is None:
            z = original(*args, **kwargs)
        else:
            with swapped_activation(layer, keras.activations.linear):
                z = original(*args, **kwargs)
        if layer in self.folded_into:  # its batch norm applies the rule, with its parameters folded in
            self.pending[z.ref()] = (layer, inputs)
            return z
        z = self._apply(layer, z, inputs, None)
        return z if activation is None else _passed_on(activation(z), z)

    def _folded_norm(self, norm, original, args, kwargs):
        y = original(*args, **kwargs)
        pending = self.pending.pop(args[0].ref(), None)
        if pending is None:
            return _passed_on(y, args[0])
        producer, inputs = pending
        return self._apply(producer, y, inputs, norm)

    def _pass_on(self, layer, original, args, kwargs):
        y = original(*args, **kwargs)
        ones = self.shadows.get(args[0].ref())
        if ones is not None and isinstance(layer, _ELEMENTWISE_AFFINE):
            self.shadows[y.ref()] = ones
        return _passed_on(y, args[0])

    def _carry_shadow(self, layer, original, args, kwargs):
        y = original(*args, **kwargs)
        ones = self.shadows.get(args[0].ref())
        if ones is not None:
            moved = not isinstance(layer, _IDENTITY_AT_INFERENCE)
            self.shadows[y.ref()] = original(ones, *args[1:], **kwargs) if moved else ones
        return y

    def _gate(self, layer, original, args, kwargs):
        factors = list(args[0])
        if len(factors) != 2:
            raise UnsupportedLayerError(f"LRP has no rule for layer {layer.name!r} (Multiply of {len(factors)} inputs)")
        # The factor with fewer values (a per-channel gate broadcast over the image) gets no relevance.
        signal, gate = sorted(factors, key=_static_size, reverse=True)
        return signal * tf.stop_gradient(gate)


def _share(z: tf.Tensor, z_part: tf.Tensor) -> tf.Tensor:
    """Zero forward; backward, the relevance of ``z`` spread over the contributions in ``z_part``."""
    return (z_part - tf.stop_gradient(z_part)) * tf.stop_gradient(z / _stabilized(z_part, STABILIZER))


def _static_size(tensor: tf.Tensor) -> int:
    return math.prod(d if d is not None else 1 << 30 for d in tensor.shape[1:])
