"""Callbacks: hooks into training, evaluation and prediction."""

from lamina._lazy import attach

_EXPORTS = {
    "Callback": "lamina.callbacks.callback:Callback",
    "CallbackList": "lamina.callbacks.callback:CallbackList",
    "History": "lamina.callbacks.history:History",
    "ProgbarLogger": "lamina.callbacks.progbar_logger:ProgbarLogger",
    "EarlyStopping": "lamina.callbacks.early_stopping:EarlyStopping",
    "ModelCheckpoint": "lamina.callbacks.model_checkpoint:ModelCheckpoint",
    "BackupAndRestore": "lamina.callbacks.backup_and_restore:BackupAndRestore",
    "CSVLogger": "lamina.callbacks.csv_logger:CSVLogger",
    "TensorBoard": "lamina.callbacks.tensorboard:TensorBoard",
    "ReduceLROnPlateau": "lamina.callbacks.reduce_lr_on_plateau:ReduceLROnPlateau",
    "LearningRateScheduler": "lamina.callbacks.learning_rate_scheduler:LearningRateScheduler",
    "TerminateOnNaN": "lamina.callbacks.terminate_on_nan:TerminateOnNaN",
    "LambdaCallback": "lamina.callbacks.lambda_callback:LambdaCallback",
    "RemoteMonitor": "lamina.callbacks.remote_monitor:RemoteMonitor",
}

__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
