"""Listing a folder of class sub-folders as Keras does (shared by the image and text datasets).

Class names are the sorted names of the sub-folders (hidden ones skipped) unless given; files
are walked recursively in sorted order; with ``shuffle`` the list is permuted by
``np.random.RandomState(seed)`` exactly as Keras's ``index_directory``, so the same seed gives
the same training/validation split in both libraries.
"""

import os

import numpy as np


def index_directory(directory, labels, formats, class_names=None, shuffle=True, seed=None, follow_links=False,
                    verbose=True):
    """``(file_paths, labels or None, class_names or None)`` for the files of ``directory``."""
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"`directory` must be an existing folder. Received: directory={directory!r}")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names).issubset(subdirs):
                raise ValueError("The `class_names` passed did not match the names of the subdirectories of the "
                                 f"target directory. Expected: {subdirs} (or a subset of it), but received: "
                                 f"class_names={class_names}")
            subdirs = list(class_names)
    else:
        subdirs = [""]
        if class_names is not None:
            if labels is None:
                raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be specified.")
            raise ValueError("When argument `labels` is specified, argument `class_names` cannot be specified (the "
                             "`class_names` will be the sorted list of labels).")
    file_paths, inferred = [], []
    for index, subdir in enumerate(subdirs):
        root_dir = os.path.join(directory, subdir) if subdir else directory
        walk = sorted(os.walk(root_dir, followlinks=follow_links), key=lambda entry: entry[0])
        for root, _, files in walk:
            for fname in sorted(files):
                if fname.lower().endswith(formats):
                    file_paths.append(os.path.join(root, fname))
                    inferred.append(index)
    if labels == "inferred":
        labels = np.asarray(inferred, dtype="int32")
        class_names = list(subdirs)
    elif labels is None:
        class_names = None
    else:
        if len(labels) != len(file_paths):
            raise ValueError("Expected the lengths of `labels` to match the number of files in the target directory. "
                             f"len(labels) is {len(labels)} while we found {len(file_paths)} files in directory "
                             f"{directory}.")
        class_names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels)
    if verbose:
        if labels is None:
            print(f"Found {len(file_paths)} files.")
        else:
            print(f"Found {len(file_paths)} files belonging to {len(class_names)} classes.")
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(file_paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return file_paths, labels, class_names


def check_validation_split_arg(validation_split, subset, shuffle, seed):
    """Keras's checks of ``validation_split``/``subset``/``seed``."""
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f'`subset` must be either "training", "validation" or "both", received: {subset}')
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide a `seed` argument, to "
                         "make sure that there is no overlap between the training and validation subset.")


def training_or_validation_split(samples, labels, validation_split, subset, verbose=True):
    """The last ``int(validation_split * n)`` samples are the validation subset, the rest training."""
    if not validation_split:
        return samples, labels
    num_val = int(validation_split * len(samples))
    if subset == "training":
        if verbose:
            print(f"Using {len(samples) - num_val} files for training.")
        cut = slice(None, len(samples) - num_val)
    else:
        if verbose:
            print(f"Using {num_val} files for validation.")
        cut = slice(len(samples) - num_val, None)
    return samples[cut], (None if labels is None else labels[cut])


def encode_labels(labels, label_mode, num_classes):
    """int32 ``(n,)`` for ``"int"``, float32 ``(n, 1)`` for ``"binary"``, float32 one-hot for ``"categorical"``."""
    labels = np.asarray(labels)
    if label_mode == "binary":
        return labels.astype("float32").reshape(-1, 1)
    if label_mode == "categorical":
        return np.eye(num_classes, dtype="float32")[labels.astype("int64")]
    return labels.astype("int32") if labels.dtype.kind in "iub" else labels


def build(read_x, file_paths, labels, label_mode, class_names, batch_size, shuffle, seed, validation_split, subset,
          verbose, what):
    """The `BatchDataset` (or the ``[training, validation]`` pair for ``subset="both"``)."""
    from lamina.utils.batch_dataset import BatchDataset

    num_classes = len(class_names) if class_names else 0
    encoded = None if labels is None else encode_labels(labels, label_mode, num_classes)

    def make(paths, y, subset_shuffle, name):
        if not paths:
            raise ValueError(f"No {name}found in directory. Allowed formats: {what}")
        paths = list(paths)
        if y is None:
            read = lambda idx: read_x([paths[i] for i in idx])  # noqa: E731
        else:
            read = lambda idx: (read_x([paths[i] for i in idx]), y[idx])  # noqa: E731
        return BatchDataset(read, len(paths), batch_size, subset_shuffle, seed, class_names=class_names,
                            file_paths=paths)

    if subset == "both":
        train = training_or_validation_split(file_paths, encoded, validation_split, "training", verbose)
        val = training_or_validation_split(file_paths, encoded, validation_split, "validation", verbose)
        return [make(*train, shuffle, "training files "), make(*val, False, "validation files ")]
    paths, y = training_or_validation_split(file_paths, encoded, validation_split, subset, verbose)
    return make(paths, y, shuffle, "files ")
