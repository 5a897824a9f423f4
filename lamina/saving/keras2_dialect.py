"""tf.keras 2's spelling of layer configs, for the legacy ``.h5`` files lamina writes.

lamina's configs are Keras 3's. tf.keras 2 names some arguments differently (LeakyReLU's
``alpha``), lacks others (``data_format`` of the image preprocessing layers, ``seed`` of
ConvLSTM2D) and needs a few that Keras 3 moved elsewhere (MultiHeadAttention's input shapes).
`translate` rewrites a config so that tf.keras 2 rebuilds the same layer:

* per-class rules rename or add what the generic rule cannot know;
* then a Keras 3 argument tf.keras 2's class does not take (``tf_keras_arguments``) is left out
  when it holds lamina's default; any other value is kept, and tf.keras 2 refuses the file
  rather than computing something else;
* nested layer configs (wrappers, RNN cells) get the same treatment.

`read_tf_keras` goes the other way, for files tf.keras 2 wrote: where a name means something
else in Keras 3 (``'hard_sigmoid'``), the config is rewritten to what tf.keras 2 computed.

>>> from lamina import layers
>>> translate(layers.LeakyReLU(0.3, name="leaky"), layers.LeakyReLU(0.3, name="leaky").get_config())
{'name': 'leaky', 'trainable': True, 'dtype': 'float32', 'alpha': 0.3}
"""

import inspect
import json
import warnings

from lamina.saving import tf_keras_arguments

# Keys Keras 3 writes that tf.keras 2 constructors reject (spec §4.4, §12.2); dropped when at their default.
_KERAS3_ONLY_KEYS = {"quantization_config": None, "lora_rank": None, "lora_alpha": None}


def translate(layer, config):
    """``config`` (a copy of ``layer.get_config()``) rewritten in place for tf.keras 2; returned."""
    rule = _RULES.get(type(layer).__name__)
    if rule is not None:
        rule(layer, config)
    _translate_class(type(layer), config)
    _warn_renamed_activations(layer, config)
    return config


def _warn_renamed_activations(layer, config):
    """Keras 3 names the file keeps that tf.keras 2 computes differently: said, not silently changed."""
    found = sorted({name for name in _activation_names(config) if name in _TF_KERAS_ACTIVATIONS})
    if found:
        warnings.warn(
            f"Layer '{layer.name}' uses the activation {found[0]!r}, which this legacy .h5 file keeps with its "
            "Keras 3 meaning (relu6(x + 3) / 6; lamina and Keras 3 read it so). tf.keras 2 computes "
            "clip(0.2 * x + 0.5, 0, 1) for that name and would predict differently.", stacklevel=4)


def _activation_names(config):
    for holder in _activation_holders(config):
        yield from (holder[key] for key in _ACTIVATION_KEYS if isinstance(holder.get(key), str))


def _activation_holders(config):
    """Every dict inside ``config`` (itself included) that has an activation key."""
    stack = [config]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if any(key in value for key in _ACTIVATION_KEYS):
                yield value
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def _translate_class(cls, config):
    for key, default in _KERAS3_ONLY_KEYS.items():
        if key in config and config[key] == default:
            del config[key]
    known = tf_keras_arguments.OWN.get(cls.__name__)
    if known is not None:
        defaults = _constructor_defaults(cls)
        for key in [k for k in config if k not in known and k not in tf_keras_arguments.COMMON]:
            if key in defaults and _is_default(key, config[key], defaults[key]):
                del config[key]
    for value in config.values():  # nested layers: Bidirectional, TimeDistributed, RNN cells, ...
        for nested in value if isinstance(value, list) else [value]:
            nested_cls = _layer_class(nested)
            if nested_cls is not None:
                rule = _CONFIG_RULES.get(nested_cls.__name__)
                if rule is not None:
                    rule(nested["config"])
                _translate_class(nested_cls, nested["config"])


def _layer_class(value):
    if not (isinstance(value, dict) and isinstance(value.get("config"), dict) and "class_name" in value):
        return None
    from lamina import layers

    cls = getattr(layers, str(value["class_name"]), None)
    return cls if isinstance(cls, type) and issubclass(cls, layers.Layer) else None


def _constructor_defaults(cls):
    defaults = {}
    for klass in reversed(cls.__mro__):
        if "__init__" in vars(klass):
            for parameter in inspect.signature(klass.__init__).parameters.values():
                if parameter.default is not inspect.Parameter.empty:
                    defaults[parameter.name] = parameter.default
    return defaults


def _is_default(key, value, default):
    if key == "data_format" and default is None:
        return value == "channels_last"  # the standardized default (lamina has no global channels_first)
    return json.loads(json.dumps(value)) == json.loads(json.dumps(default))


# ---- per-class rules ----------------------------------------------------------------------------------------

def _dense(config):
    # tf.keras 2 lists activity_regularizer (also when None) between the regularizers and constraints.
    value = config.pop("activity_regularizer", None)
    items = list(config.items())
    at = [key for key, _ in items].index("kernel_constraint")
    config.clear()
    config.update(items[:at] + [("activity_regularizer", value)] + items[at:])


def _leaky_relu(config):
    config["alpha"] = config.pop("negative_slope")


def _layer_normalization(config):
    if not config.get("rms_scaling", False):  # tf.keras 2 has no RMS variant: only the default can go
        config.pop("rms_scaling", None)


def _integer_output_lookup(config):
    if config.get("output_mode") == "int":  # tf.keras 2 wants the index dtype itself
        config["dtype"] = "int64"


def _text_vectorization(config):
    config["dtype"] = "string"  # tf.keras 2: the dtype of the (string) inputs


def _discretization(config):
    if config.get("bin_boundaries") is not None:  # tf.keras 2 refuses both; the boundaries decide
        config["num_bins"] = None
    _integer_output_lookup(config)  # tf.keras 2 also takes the 'int' output's dtype here


def _multi_head_attention(layer, config):
    # tf.keras 2 builds a loaded MultiHeadAttention from the input shapes in its config.
    shapes = getattr(layer, "_shapes_dict", None) or {}
    if "query_shape" in shapes:
        config["query_shape"] = list(shapes["query_shape"])
        config["value_shape"] = list(shapes["value_shape"])
        config["key_shape"] = list(shapes.get("key_shape", shapes["value_shape"]))


# Rules that need only the config (also applied to nested configs), then those that need the layer.
_CONFIG_RULES = {
    "Dense": _dense,
    "LeakyReLU": _leaky_relu,
    "LayerNormalization": _layer_normalization,
    "StringLookup": _integer_output_lookup,
    "IntegerLookup": _integer_output_lookup,
    "TextVectorization": _text_vectorization,
    "Discretization": _discretization,
}
_RULES = {name: (lambda layer, config, rule=rule: rule(config)) for name, rule in _CONFIG_RULES.items()}
_RULES["MultiHeadAttention"] = _multi_head_attention


# ---- reading files tf.keras 2 wrote ----------------------------------------------------------------------

# Names tf.keras 2 computes differently from Keras 3, and the lamina function tf.keras 2 meant.
_TF_KERAS_ACTIVATIONS = {"hard_sigmoid": "lamina>hard_sigmoid_keras2"}
_ACTIVATION_KEYS = ("activation", "recurrent_activation")


def is_tf_keras_version(keras_version):
    """Whether a file's ``keras_version`` attribute says tf.keras 2 (or Keras 1) wrote it."""
    return isinstance(keras_version, str) and keras_version.split(".")[0] in ("1", "2")


def read_tf_keras(config):
    """A Keras 2 model ``config`` rewritten in place to compute what tf.keras 2 did; returned.

    >>> read_tf_keras({"class_name": "ConvLSTM2D", "config": {"recurrent_activation": "hard_sigmoid"}})
    {'class_name': 'ConvLSTM2D', 'config': {'recurrent_activation': 'lamina>hard_sigmoid_keras2'}}
    """
    for holder in list(_activation_holders(config)):
        for key in _ACTIVATION_KEYS:
            if isinstance(holder.get(key), str) and holder[key] in _TF_KERAS_ACTIVATIONS:
                holder[key] = _TF_KERAS_ACTIVATIONS[holder[key]]
    return config
