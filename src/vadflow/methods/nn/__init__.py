"""Network blocks shared by several papers' methods: pure torch, no I/O, no config."""
