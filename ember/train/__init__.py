"""ember.train: ``Trainer`` (Keras's fit/evaluate/predict), callbacks, metrics, resumable
checkpoints and ``summary``.

Example::

    from ember.train import Trainer, EarlyStopping, ModelCheckpoint

    trainer = Trainer(model, ember.optim.Adam(model.parameters()), "cross_entropy",
                      metrics=["accuracy"], mixed_precision="bfloat16")
    history = trainer.fit(train_loader, epochs=20, validation_data=val_loader,
                          callbacks=[EarlyStopping(patience=3, restore_best_weights=True),
                                     ModelCheckpoint("ckpt/best.safetensors",
                                                     save_best_only=True)],
                          checkpoint_dir="ckpt/run", checkpoint_every=500)
"""

from ember.train import callbacks, checkpoint, metrics
from ember.train.callbacks import (
    Callback,
    CallbackList,
    CSVLogger,
    EarlyStopping,
    History,
    LambdaCallback,
    LearningRateScheduler,
    LRSchedulerCallback,
    ModelCheckpoint,
    ProgressBar,
    TensorBoard,
)
from ember.train.checkpoint import load_checkpoint, load_weights, save_checkpoint
from ember.train.metrics import Accuracy, Mean, MeanMetric, Metric, TopKAccuracy
from ember.train.summary import ModelSummary, summary
from ember.train.trainer import Trainer

__all__ = [
    "Accuracy",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LRSchedulerCallback",
    "LambdaCallback",
    "LearningRateScheduler",
    "Mean",
    "MeanMetric",
    "Metric",
    "ModelCheckpoint",
    "ModelSummary",
    "ProgressBar",
    "TensorBoard",
    "TopKAccuracy",
    "Trainer",
    "callbacks",
    "checkpoint",
    "load_checkpoint",
    "load_weights",
    "metrics",
    "save_checkpoint",
    "summary",
]
