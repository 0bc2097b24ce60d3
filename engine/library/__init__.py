"""The process library: deploying definitions (with the checks on uploaded files), versions and change
control, the differences between versions, and moving running instances to another version."""
