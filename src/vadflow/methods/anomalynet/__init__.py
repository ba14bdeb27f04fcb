"""Zhou et al., "AnomalyNet: An anomaly detection network for video surveillance" (TIFS 2019;
issue 14): SC2Net, the sparse LSTM (SLSTM) coding block, and the synthetic mutual-coherence study of
the paper's Tables 1-2 (``coherence``). The unrolled solvers themselves (ISTA, LISTA, LFISTA, SLSTM)
are shared by the project in ``vadflow.methods.nn.unrolled``.

No method is registered yet: the AnomalyNet video method (dynamic images, ResNet-50 features,
SC2Net coding, eq. 21 scores) is still to be written, so this package has no ``METHODS``.
"""
