"""Read-only figures for auditors and leaders (per-step timing, ISO reports), computed with SQL on the
read model (task rows, history); never by loading workflows."""
