"""Preprocessing layers that run inside models (Keras's ``keras.layers`` preprocessing family).

One module per concern, re-exported here:

- `preprocessing_image`: Rescaling, Resizing, CenterCrop.
- `preprocessing_augment`: RandomFlip, RandomRotation, RandomZoom, RandomTranslation,
  RandomContrast, RandomCrop (active when ``training`` is true).
- `preprocessing_numeric`: Normalization, Discretization, CategoryEncoding.
- `preprocessing_hashing`: Hashing (FarmHash64 / SipHash-2-4, bit-exact with Keras).
- `preprocessing_lookup`: IntegerLookup, StringLookup.
- `preprocessing_text`: TextVectorization.

String inputs are Python lists or NumPy arrays of strings (see `preprocessing_strings`).

>>> from lamina.layers import preprocessing
>>> preprocessing.Rescaling(2.0)([[1.0]]).tolist()
[[2.0]]
"""

from lamina.layers.preprocessing_augment import RandomContrast as RandomContrast
from lamina.layers.preprocessing_augment import RandomCrop as RandomCrop
from lamina.layers.preprocessing_augment import RandomFlip as RandomFlip
from lamina.layers.preprocessing_augment import RandomRotation as RandomRotation
from lamina.layers.preprocessing_augment import RandomTranslation as RandomTranslation
from lamina.layers.preprocessing_augment import RandomZoom as RandomZoom
from lamina.layers.preprocessing_hashing import Hashing as Hashing
from lamina.layers.preprocessing_image import CenterCrop as CenterCrop
from lamina.layers.preprocessing_image import Rescaling as Rescaling
from lamina.layers.preprocessing_image import Resizing as Resizing
from lamina.layers.preprocessing_lookup import IntegerLookup as IntegerLookup
from lamina.layers.preprocessing_lookup import StringLookup as StringLookup
from lamina.layers.preprocessing_numeric import CategoryEncoding as CategoryEncoding
from lamina.layers.preprocessing_numeric import Discretization as Discretization
from lamina.layers.preprocessing_numeric import Normalization as Normalization
from lamina.layers.preprocessing_text import TextVectorization as TextVectorization
