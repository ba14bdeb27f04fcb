"""The training engine every torch method trains through (Lightning Fabric under our loop).

A method subclasses ``TorchMethod``: it builds its networks (``setup``), says what it trains in
which stages (``stages``), over which data (``train_dataset``), with which optimisers
(``configure_optimizers``) and what one step computes (``training_step``). The engine does
device and precision, seeding, the batch order, logging, progress bars, and resume
checkpoints (by time, epochs or steps, and on SIGTERM/SIGUSR1); see ``trainer``.
"""

from vadflow.methods.engine.trainer import Engine, Stage, StepContext, TorchMethod, TrainingInterrupted

__all__ = ["Engine", "Stage", "StepContext", "TorchMethod", "TrainingInterrupted"]
