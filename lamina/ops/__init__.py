"""`lamina.ops`: the Keras 3 ``keras.ops`` namespace over torch."""

from lamina.ops.core import cast as cast
from lamina.ops.core import constant as constant
from lamina.ops.core import convert_to_numpy as convert_to_numpy
from lamina.ops.core import convert_to_tensor as convert_to_tensor
from lamina.ops.core import dtype as dtype
from lamina.ops.core import is_tensor as is_tensor
from lamina.ops.core import shape as shape
