"""BPMN execution on SpiffWorkflow: the engine's commands, the unit of work of a command, advancing and
saving an instance, the BPMN features (events, timers, messages, signals, calls, jobs, scripts,
decisions) and the tables of definitions, instances, tasks and history."""
