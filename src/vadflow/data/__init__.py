"""Video data: decoding into Zarr frame stores, dataset layouts and adapters, synthetic datasets."""
