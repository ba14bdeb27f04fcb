"""Pretrained features: backbones, spatial pyramids, dynamic images, temporal pooling, optical flow, I3D."""
