"""The ISO 9001 registers, one module each: its tables, queries, commands and BPMN job handlers."""
