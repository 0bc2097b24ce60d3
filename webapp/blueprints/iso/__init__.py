"""The pages of the ISO registers, one module each (``engine/iso/<register>.py`` holds its data and commands)."""
