"""Device, dtypes, Variable, random numbers, GradientTape: lamina's contact with torch."""

from lamina.backend.config import backend, epsilon, floatx, image_data_format
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.naming import reset_names as clear_session
from lamina.backend.variable import Variable

__all__ = ["Variable", "backend", "clear_session", "epsilon", "floatx", "image_data_format",
           "standardize_dtype", "to_torch_dtype"]
