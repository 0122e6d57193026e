"""Compiled gradient functions for one Keras model, built once and shared by every method.

Intermediate activations are captured with a hook installed on the layer only while a
``tf.function`` traces: the hook records the layer's output tensor in the graph being built,
then is removed. This works the same on Sequential, functional and nested models (a layer inside
a backbone used as a layer), where rebuilding a sub-graph from ``layer.output`` would fail with
"graph disconnected". After tracing, calls run the compiled graph and touch no Python state.
"""

from __future__ import annotations

import contextlib
import math
import threading
import weakref
from collections.abc import Callable, Iterator

import keras
import numpy as np
import tensorflow as tf

from explainers._hooks import activation_name, hook, swapped_activation
from models.layers import default_cam_layer, find_layer, iter_layers

DEFAULT_MEMORY_BUDGET_BYTES = 1 << 30  # activations of one batch; see ModelGraph.batch_size

# Tracing mutates shared layers (it installs hooks), so only one trace runs at a time.
_TRACE_LOCK = threading.RLock()


class _Capture:
    """Records the output (or, for a softmax layer, the input) of a layer during one trace."""

    def __init__(self) -> None:
        self.tensors: list[tf.Tensor] = []

    @property
    def tensor(self) -> tf.Tensor:
        if not self.tensors:
            raise RuntimeError("the hooked layer was not called by the model")
        return self.tensors[-1]


def _record_output(capture: _Capture) -> Callable:
    def record(original, args, kwargs):
        outputs = original(*args, **kwargs)
        capture.tensors.append(outputs)
        return outputs

    return record


_ACTIVATION_LAYERS = (
    keras.layers.ReLU,
    keras.layers.Activation,
    keras.layers.LeakyReLU,
    keras.layers.ELU,
    keras.layers.PReLU,
    keras.layers.Softmax,
)


def _record_before_activation(capture: _Capture, layer: keras.layers.Layer) -> Callable:
    """Records what the layer's activation receives: the input of an activation layer, or the output of a layer
    with a built-in activation run linear (the activation then applied as usual)."""

    def record(original, args, kwargs):
        if isinstance(layer, _ACTIVATION_LAYERS):
            capture.tensors.append(args[0])
            return original(*args, **kwargs)
        activation = getattr(layer, "activation", None)
        if activation is None or activation_name(layer) in ("", "linear"):
            outputs = original(*args, **kwargs)
            capture.tensors.append(outputs)
            return outputs
        object.__setattr__(layer, "activation", keras.activations.linear)
        try:
            before = original(*args, **kwargs)
        finally:
            object.__setattr__(layer, "activation", activation)
        capture.tensors.append(before)
        return activation(before)

    return record


_RELU_NAMES = ("relu", "relu6")


def _guided(function: Callable[[tf.Tensor], tf.Tensor]) -> Callable[[tf.Tensor], tf.Tensor]:
    """``function`` with its gradient replaced as in Guided Backpropagation (Springenberg et al., 2015):
    only positive gradients pass, and only where the activation let the signal through."""

    @tf.custom_gradient
    def apply(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = function(x)

        def gradient(upstream):
            return tape.gradient(y, x, output_gradients=tf.nn.relu(upstream))

        return y, gradient

    return apply


def _is_relu_layer(layer: keras.layers.Layer) -> bool:
    if isinstance(layer, keras.layers.ReLU):
        return True
    return isinstance(layer, keras.layers.Activation) and activation_name(layer) in _RELU_NAMES


@contextlib.contextmanager
def _guided_relus(model: keras.Model) -> Iterator[None]:
    """While tracing: every ReLU in the model (layers and built-in activations) backpropagates guided."""
    with contextlib.ExitStack() as stack:
        for layer in iter_layers(model):
            if _is_relu_layer(layer):

                def record(original, args, kwargs):
                    return _guided(lambda x: original(x, *args[1:], **kwargs))(args[0])

                stack.enter_context(hook(layer, record))
            elif activation_name(layer) in _RELU_NAMES:
                stack.enter_context(swapped_activation(layer, _guided(layer.activation)))
        yield


_SQUASHING = ("softmax", "sigmoid")


def _squashing_name(layer: keras.layers.Layer) -> str | None:
    """``softmax`` or ``sigmoid`` if the layer ends in one (as a layer or a built-in activation)."""
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    name = activation_name(layer)
    return name if name in _SQUASHING else None


def _output_layer(model: keras.Model) -> keras.layers.Layer:
    layer = model.outputs[0]._keras_history.operation if getattr(model, "outputs", None) else model.layers[-1]
    return _output_layer(layer) if isinstance(layer, keras.Model) else layer


OUTPUT_KINDS = {
    "softmax": "softmax: one class, probabilities that sum to 1",
    "logits": "logits: no final activation; probabilities are the softmax of the outputs",
    "binary": "one sigmoid: the probability of the positive class",
    "multilabel": "several sigmoids: each label's probability on its own (multi-label)",
    "score": "one output with no activation: a score, not a probability",
}


class ModelGraph:
    """Everything the attribution methods need from one model: scores, gradients, activations."""

    def __init__(self, model: keras.Model):
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise ValueError("only models with one input and one output can be explained")
        # A weak reference: the graphs are kept in a WeakKeyDictionary keyed by the model, and a strong one here
        # would keep every model ever explained alive (and its compiled functions), e.g. each training run's.
        self._model = weakref.ref(model)
        self.input_shape = tuple(model.inputs[0].shape[1:])
        self.output_size = math.prod(d or 1 for d in model.outputs[0].shape[1:])
        self._functions: dict[tuple, Callable] = {}
        self._lock = threading.Lock()
        self._tracing: dict[tuple, threading.Lock] = {}
        self._bytes_per_sample: int | None = None
        last = _output_layer(model)
        self.output_activation = _squashing_name(last)
        """``softmax``/``sigmoid`` when the model ends in one; the methods then explain its input, the logit."""
        self.squashing_layer = last if self.output_activation else None
        self.default_layer = default_cam_layer(model)
        """The layer input-gradient requests without a layer are served at (see :meth:`function`)."""

    @property
    def model(self) -> keras.Model:
        model = self._model()
        if model is None:
            raise RuntimeError("the model of this graph no longer exists")
        return model

    @property
    def output_kind(self) -> str:
        """One of :data:`OUTPUT_KINDS`, read from the model's last layer and its number of outputs."""
        if self.output_activation == "softmax":
            return "softmax"
        if self.output_activation == "sigmoid":
            return "binary" if self.output_size == 1 else "multilabel"
        return "logits" if self.output_size > 1 else "score"

    @property
    def score_kind(self) -> str:
        """What the methods differentiate: the logit before a final softmax or sigmoid, or the raw output."""
        return "logit" if self.squashing_layer is not None else "output"

    def probabilities(self, outputs: np.ndarray) -> np.ndarray:
        """Class probabilities from the values scores are taken from (logits, or raw outputs)."""
        if self.output_activation == "sigmoid":
            return 1.0 / (1.0 + np.exp(-outputs))
        shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)

    # -- scores -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _logits_hook(self) -> Iterator[_Capture]:
        capture = _Capture()
        layer = self.squashing_layer
        if layer is None:
            yield capture
            return

        # A Dense (or conv) layer with a built-in softmax/sigmoid runs linear, then the activation is applied.
        with hook(layer, _record_before_activation(capture, layer)):
            yield capture

    def _score(self, outputs: tf.Tensor, logits: _Capture, target: tf.Tensor) -> tf.Tensor:
        values = logits.tensor if self.squashing_layer is not None else outputs
        values = tf.reshape(values, (tf.shape(values)[0], -1))
        return tf.gather(values, target, axis=1)

    # -- compiled functions -------------------------------------------------------------------

    def compiled(self, key: tuple, build: Callable[[], Callable]) -> Callable:
        """The function ``build()`` makes, kept under ``key`` and traced on first use (it must be a ``tf.function``
        with an input signature). Threads that ask for the same function together
        wait for one trace; a function already traced runs while another one is being traced."""
        with self._lock:
            if key in self._functions:
                return self._functions[key]
            tracing = self._tracing.setdefault(key, threading.Lock())
        with tracing:
            with self._lock:
                if key in self._functions:
                    return self._functions[key]
            function = build()
            function.get_concrete_function()
            with self._lock:
                self._functions[key] = function
            return function

    def _signature(self) -> list[tf.TensorSpec]:
        return [tf.TensorSpec((None, *self.input_shape), tf.float32), tf.TensorSpec((), tf.int32)]

    def function(
        self,
        *,
        layer: str | None = None,
        input_gradients: bool = False,
        layer_gradients: bool = False,
        guided: bool = False,
    ) -> Callable[[tf.Tensor, tf.Tensor], dict[str, tf.Tensor]]:
        """A compiled ``(inputs (B,H,W,C), target) -> dict`` for one combination of needs.

        The dict always has ``scores`` (B,) and ``outputs`` (B, K), the values scores are taken from
        (logits before a final softmax, else the model's outputs); with ``layer``, ``activations`` (B,h,w,K) of that
        layer; with ``input_gradients``/``layer_gradients``, the score's gradients with respect to
        the inputs/activations; with ``guided``, gradients pass through every ReLU as in Guided
        Backpropagation. Each combination is traced once and reused for every later call.

        Plain (unguided) gradient requests share one function per layer that returns both gradients, and a
        request for input gradients alone is served at :attr:`default_layer`: the backward pass to the input
        goes through that layer anyway, so its gradients cost almost nothing, while each trace costs about a
        second on CPU. Saliency, SmoothGrad, Integrated Gradients and Grad-CAM then need one trace together.
        """
        requested = ("function", layer, input_gradients, layer_gradients, guided)
        key = self._key(layer=layer, input_gradients=input_gradients, layer_gradients=layer_gradients, guided=guided)
        if key != requested and layer is None:
            try:
                return self._function(key)
            except (RuntimeError, ValueError):
                # The default layer cannot be captured in this model (e.g. it is never called): no sharing.
                self.default_layer = None
                key = requested
        return self._function(key)

    def _function(self, key: tuple) -> Callable[[tf.Tensor, tf.Tensor], dict[str, tf.Tensor]]:
        _, layer, input_gradients, layer_gradients, guided = key
        target_layer = find_layer(self.model, layer) if layer is not None else None
        if layer_gradients and target_layer is None:
            raise ValueError("layer gradients need a layer")

        def build():
            @tf.function(input_signature=self._signature(), autograph=False)
            def run(inputs, target):
                activations = _Capture()
                with contextlib.ExitStack() as stack:
                    stack.enter_context(_TRACE_LOCK)
                    logits = stack.enter_context(self._logits_hook())
                    if target_layer is not None:
                        stack.enter_context(hook(target_layer, _record_output(activations)))
                    if guided:
                        stack.enter_context(_guided_relus(self.model))
                    tape = stack.enter_context(tf.GradientTape())
                    tape.watch(inputs)
                    outputs = self.model(inputs, training=False)
                    scores = self._score(outputs, logits, target)
                values = logits.tensor if self.squashing_layer is not None else outputs
                results = {"scores": scores, "outputs": tf.reshape(values, (tf.shape(values)[0], -1))}
                if target_layer is not None:
                    if len(activations.tensor.shape) != 4:
                        raise ValueError(f"layer {layer!r} has no spatial (4-D) output")
                    results["activations"] = activations.tensor
                sources = {"input_gradients": inputs} if input_gradients else {}
                if layer_gradients:
                    sources["layer_gradients"] = activations.tensor
                if sources:
                    results.update(zip(sources, tape.gradient(scores, list(sources.values())), strict=True))
                return results

            return run

        return self.compiled(key, build)

    def _key(
        self,
        *,
        layer: str | None = None,
        input_gradients: bool = False,
        layer_gradients: bool = False,
        guided: bool = False,
    ) -> tuple:
        """The compiled function that serves these needs (see :meth:`function` for which requests share one)."""
        if not guided and (input_gradients or layer_gradients):
            shared_layer = layer if layer is not None else (self.default_layer if not layer_gradients else None)
            if shared_layer is not None:
                layer, input_gradients, layer_gradients = shared_layer, True, True
        return ("function", layer, input_gradients, layer_gradients, guided)

    def rule_pass(self, inputs: np.ndarray, target: int, rule) -> dict[str, np.ndarray]:
        """Scores, outputs and what ``rule`` makes of the gradients of ``rule.objective(scores)`` (see
        :mod:`explainers._rules`: DeepLIFT's multipliers, LRP's relevance), one batch; compiled once per rule.

        The batch is run as given (never padded: a rule may pair its halves)."""

        def build():
            @tf.function(input_signature=self._signature(), autograph=False)
            def run(batch, target):
                with contextlib.ExitStack() as stack:
                    stack.enter_context(_TRACE_LOCK)
                    tape = stack.enter_context(tf.GradientTape())
                    tape.watch(batch)
                    # The rule's hooks go on first, so that the logits hook (outermost) sees what they return.
                    sources = stack.enter_context(rule.installed(self.model, batch, tape, skip=self.squashing_layer))
                    logits = stack.enter_context(self._logits_hook())
                    outputs = self.model(batch, training=False)
                    scores = self._score(outputs, logits, target)
                    objective = rule.objective(scores)
                values = logits.tensor if self.squashing_layer is not None else outputs
                gradients = tape.gradient(
                    objective, [batch, *sources], unconnected_gradients=tf.UnconnectedGradients.ZERO
                )
                return {
                    "scores": scores,
                    "outputs": tf.reshape(values, (tf.shape(values)[0], -1)),
                    **rule.results(batch, gradients),
                }

            return run

        function = self.compiled(("rule", *rule.key), build)
        results = function(tf.constant(np.asarray(inputs, np.float32)), tf.constant(target))
        return {name: value.numpy() for name, value in results.items()}

    def traced_objective(self, batch: tf.Tensor, index: tf.Tensor, layer: str | None = None) -> tf.Tensor:
        """Per sample of ``batch``: class ``index``'s score (the logit before a final softmax/sigmoid, as the
        methods explain), or, with ``layer``, the mean of that layer's channel ``index`` before the layer's
        activation (a ReLU passes no gradient where its output is zero, so a channel silent on the starting image
        could never be woken; as Olah et al. optimise pre-ReLU channels).

        Only for use while a ``tf.function`` traces (feature visualisation builds its optimisation step on it):
        the hooks it needs are on the model during this call only."""
        activations = _Capture()
        with contextlib.ExitStack() as stack:
            stack.enter_context(_TRACE_LOCK)
            logits = stack.enter_context(self._logits_hook())
            if layer is not None:
                target_layer = find_layer(self.model, layer)
                stack.enter_context(hook(target_layer, _record_before_activation(activations, target_layer)))
            outputs = self.model(batch, training=False)
        if layer is None:
            return self._score(outputs, logits, index)
        values = activations.tensor
        channel = tf.gather(values, index, axis=-1)
        return tf.reduce_mean(tf.reshape(channel, (tf.shape(channel)[0], -1)), axis=1)

    def objective(self, inputs: np.ndarray, index: int, layer: str | None = None) -> np.ndarray:
        """:meth:`traced_objective` for a batch of inputs, through one compiled function per layer."""

        def build():
            @tf.function(input_signature=self._signature(), autograph=False)
            def run(batch, index):
                return self.traced_objective(batch, index, layer)

            return run

        function = self.compiled(("objective", layer), build)
        return function(tf.constant(np.asarray(inputs, np.float32)), tf.constant(index, tf.int32)).numpy()

    def every_layer(self, inputs: np.ndarray, target: int, layers: tuple[str, ...]) -> tuple[float, dict[str, tuple]]:
        """For one input (H, W, C): the score, and each of ``layers``' output and the score's gradient with respect
        to it, in one forward and backward pass (compiled once per model and layer list). The gradient is None for a
        layer the score does not depend on (a final softmax: scores are taken before it); a layer that returns
        something other than one tensor, or that the model never calls, is left out."""

        def build():
            @tf.function(input_signature=self._signature(), autograph=False)
            def run(batch, target):
                captures = {path: _Capture() for path in layers}
                with contextlib.ExitStack() as stack:
                    stack.enter_context(_TRACE_LOCK)
                    for path, capture in captures.items():
                        stack.enter_context(hook(find_layer(self.model, path), _record_output(capture)))
                    logits = stack.enter_context(self._logits_hook())
                    tape = stack.enter_context(tf.GradientTape())
                    tape.watch(batch)  # so that every op is recorded even when the weights are frozen
                    outputs = self.model(batch, training=False)
                    scores = self._score(outputs, logits, target)
                recorded = {
                    path: capture.tensors[-1]
                    for path, capture in captures.items()
                    if capture.tensors and isinstance(capture.tensors[-1], tf.Tensor)
                }
                gradients = tape.gradient(scores, list(recorded.values()))
                results = {"scores": scores}
                for (path, tensor), gradient in zip(recorded.items(), gradients, strict=True):
                    results[f"activation:{path}"] = tensor
                    if gradient is not None:
                        results[f"gradient:{path}"] = gradient
                return results

            return run

        function = self.compiled(("every_layer", layers), build)
        results = function(tf.constant(np.asarray(inputs, np.float32)[None]), tf.constant(target))
        recorded = {}
        for name, value in results.items():
            kind, _, path = name.partition(":")
            if kind == "activation":
                gradient = results.get(f"gradient:{path}")
                recorded[path] = (value.numpy()[0], None if gradient is None else gradient.numpy()[0])
        return float(results["scores"].numpy()[0]), {path: recorded[path] for path in layers if path in recorded}

    def is_compiled(self, *, forward: bool = False, **needs) -> bool:
        """Whether :meth:`predict` (``forward``) or :meth:`function` with these needs has been traced already."""
        with self._lock:
            return (("predict",) if forward else self._key(**needs)) in self._functions

    def predict(self, inputs: np.ndarray, memory_budget_bytes: int | None = None) -> np.ndarray:
        """Model outputs for a batch, through one compiled forward function, in memory-capped chunks."""

        def build():
            @tf.function(input_signature=self._signature()[:1], autograph=False)
            def forward(batch):
                with _TRACE_LOCK:
                    return self.model(batch, training=False)

            return forward

        forward = self.compiled(("predict",), build)
        size = self.batch_size(len(inputs), memory_budget_bytes)
        return np.concatenate(
            [
                forward(tf.constant(_padded(chunk))).numpy()[: len(chunk)]
                for chunk in (inputs[start : start + size] for start in range(0, len(inputs), size))
            ]
        )

    # -- batching -----------------------------------------------------------------------------

    def activation_bytes_per_sample(self) -> int:
        """Bytes of float32 activations one sample produces in a forward pass (all layers)."""
        if self._bytes_per_sample is None:
            total = 0
            for layer in iter_layers(self.model):
                try:
                    shape = layer.output.shape
                except (AttributeError, ValueError):
                    continue  # a layer used more than once, or never called on a symbolic input
                total += math.prod(d or 1 for d in shape[1:]) * 4
            self._bytes_per_sample = max(total, 1)
        return self._bytes_per_sample

    def batch_size(self, samples: int, memory_budget_bytes: int | None = None) -> int:
        """How many samples one batch holds under the activation memory budget: at least 1, at most
        ``samples``, and a power of two (see :func:`_padded`)."""
        budget = memory_budget_bytes or DEFAULT_MEMORY_BUDGET_BYTES
        fits = max(1, budget // self.activation_bytes_per_sample())
        return int(min(samples, 1 << (int(fits).bit_length() - 1)))

    def batched(
        self,
        inputs: np.ndarray,
        target: int,
        memory_budget_bytes: int | None = None,
        on_batch: Callable[[int, int], None] | None = None,
        **needs,
    ) -> Iterator[dict[str, np.ndarray]]:
        """Run :meth:`function` (with ``needs``) over many samples in memory-capped batches."""
        fn = self.function(**needs)
        size = self.batch_size(len(inputs), memory_budget_bytes)
        for start in range(0, len(inputs), size):
            count = min(size, len(inputs) - start)
            results = fn(tf.constant(_padded(inputs[start : start + size])), tf.constant(target))
            yield {name: value.numpy()[:count] for name, value in results.items()}
            if on_batch is not None:
                on_batch(min(start + size, len(inputs)), len(inputs))

    def single_pass(self, inputs: np.ndarray, target: int, **needs) -> dict[str, np.ndarray]:
        """:meth:`function` on one input (H, W, C); arrays keep a leading batch axis of 1."""
        (results,) = self.batched(inputs[None], target, **needs)
        return results

    def batched_gradients(
        self,
        inputs: np.ndarray,
        target: int,
        memory_budget_bytes: int | None = None,
        on_batch: Callable[[int, int], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Scores and input gradients for many samples, evaluated in memory-capped batches."""
        batches = list(self.batched(inputs, target, memory_budget_bytes, on_batch, input_gradients=True))
        return (np.concatenate([b["scores"] for b in batches]), np.concatenate([b["input_gradients"] for b in batches]))


def _padded(batch: np.ndarray) -> np.ndarray:
    """``batch`` with copies of its last sample appended up to the next power of two.

    Every new batch size costs oneDNN (TensorFlow's CPU kernels) a new set of primitives on first use,
    0.1-0.5 s on EfficientNet-Lite0, and the sampling methods' rounds come in every size; padded, a model
    sees only the powers of two up to its batch size (1, 2, 4, 8 for EfficientNet-Lite0 under the default
    budget) and pays for each once. The padding
    costs less than one batch's own work, and samples are independent, so results are unchanged.
    """
    count = len(batch)
    size = 1 << (count - 1).bit_length()
    if size == count:
        return batch
    return np.concatenate([batch, np.repeat(batch[-1:], size - count, axis=0)])


_GRAPHS: weakref.WeakKeyDictionary[keras.Model, ModelGraph] = weakref.WeakKeyDictionary()
_GRAPHS_LOCK = threading.Lock()


def graph_for(model: keras.Model) -> ModelGraph:
    """The shared :class:`ModelGraph` of ``model``, so compiled functions survive across calls."""
    with _GRAPHS_LOCK:
        graph = _GRAPHS.get(model)
        if graph is None:
            graph = _GRAPHS[model] = ModelGraph(model)
        return graph
