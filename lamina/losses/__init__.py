"""Losses with Keras 3 names and semantics: `Loss` classes, loss functions, `get`/`serialize`/`deserialize`.

>>> import torch
>>> y_true = torch.tensor([[1.0], [0.0], [1.0]])
>>> y_pred = torch.tensor([[0.9], [0.2], [0.6]])
>>> binary_crossentropy(y_true, y_pred).shape
torch.Size([3])
>>> round(float(BinaryCrossentropy()(y_true, y_pred)), 4)
0.2798
"""

from lamina.losses.base import Loss as Loss
from lamina.losses.base import LossFunctionWrapper as LossFunctionWrapper
from lamina.losses.base import Reduction as Reduction
from lamina.losses.crossentropy import BinaryCrossentropy as BinaryCrossentropy
from lamina.losses.crossentropy import BinaryFocalCrossentropy as BinaryFocalCrossentropy
from lamina.losses.crossentropy import CategoricalCrossentropy as CategoricalCrossentropy
from lamina.losses.crossentropy import CategoricalFocalCrossentropy as CategoricalFocalCrossentropy
from lamina.losses.crossentropy import CategoricalGeneralizedCrossEntropy as CategoricalGeneralizedCrossEntropy
from lamina.losses.crossentropy import SparseCategoricalCrossentropy as SparseCategoricalCrossentropy
from lamina.losses.crossentropy import binary_crossentropy as binary_crossentropy
from lamina.losses.crossentropy import binary_focal_crossentropy as binary_focal_crossentropy
from lamina.losses.crossentropy import categorical_crossentropy as categorical_crossentropy
from lamina.losses.crossentropy import categorical_focal_crossentropy as categorical_focal_crossentropy
from lamina.losses.crossentropy import categorical_generalized_cross_entropy as categorical_generalized_cross_entropy
from lamina.losses.crossentropy import sparse_categorical_crossentropy as sparse_categorical_crossentropy
from lamina.losses.hinge import CategoricalHinge as CategoricalHinge
from lamina.losses.hinge import Hinge as Hinge
from lamina.losses.hinge import SquaredHinge as SquaredHinge
from lamina.losses.hinge import categorical_hinge as categorical_hinge
from lamina.losses.hinge import hinge as hinge
from lamina.losses.hinge import squared_hinge as squared_hinge
from lamina.losses.regression import CosineSimilarity as CosineSimilarity
from lamina.losses.regression import Huber as Huber
from lamina.losses.regression import KLDivergence as KLDivergence
from lamina.losses.regression import LogCosh as LogCosh
from lamina.losses.regression import MeanAbsoluteError as MeanAbsoluteError
from lamina.losses.regression import MeanAbsolutePercentageError as MeanAbsolutePercentageError
from lamina.losses.regression import MeanSquaredError as MeanSquaredError
from lamina.losses.regression import MeanSquaredLogarithmicError as MeanSquaredLogarithmicError
from lamina.losses.regression import Poisson as Poisson
from lamina.losses.regression import cosine_similarity as cosine_similarity
from lamina.losses.regression import huber as huber
from lamina.losses.regression import kl_divergence as kl_divergence
from lamina.losses.regression import log_cosh as log_cosh
from lamina.losses.regression import mean_absolute_error as mean_absolute_error
from lamina.losses.regression import mean_absolute_percentage_error as mean_absolute_percentage_error
from lamina.losses.regression import mean_squared_error as mean_squared_error
from lamina.losses.regression import mean_squared_logarithmic_error as mean_squared_logarithmic_error
from lamina.losses.regression import poisson as poisson
from lamina.losses.segmentation import CTC as CTC
from lamina.losses.segmentation import Dice as Dice
from lamina.losses.segmentation import Tversky as Tversky
from lamina.losses.segmentation import ctc as ctc
from lamina.losses.segmentation import dice as dice
from lamina.losses.segmentation import tversky as tversky
from lamina.losses.serialization import deserialize as deserialize
from lamina.losses.serialization import get as get
from lamina.losses.serialization import serialize as serialize

# Short and legacy names, as ``keras.losses`` (and tf.keras 2) expose them.
bce = BCE = binary_crossentropy
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
