"""Parts several methods share: frames as a method wants them, feature rows, windowed scoring."""
