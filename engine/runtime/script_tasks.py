"""Script tasks: FEEL (Camunda 8 ``zeebe:script``) or the whitelisted Python subset, never real code.

A FEEL script's value goes into its ``resultVariable``. A Python-subset script (SpiffWorkflow-native
models, ``scriptFormat`` python) assigns process variables; a Camunda 7 script with a
``camunda:resultVariable`` may also be a single expression whose value is stored there. Any other
script format (JavaScript, Groovy, …) is refused at deploy time.
"""

from __future__ import annotations

from typing import Any

from engine.data_check import check_variables
from engine.errors import ExpressionError
from engine.expressions import feel, python_subset
from engine.runtime.handlers import JobContext

LANGUAGES = ("feel", "python")


def check_script(script: dict[str, Any]) -> None:
    """Deploy-time check; raises ExpressionError naming what is wrong."""
    language, text = script.get("language"), (script.get("text") or "").strip()
    if script.get("job_type"):
        raise ExpressionError("A script task run by a job worker is not supported; write the script as FEEL.")
    if language not in LANGUAGES:
        raise ExpressionError(
            "Script format '%(language)s' cannot run in eISO: write it in FEEL (Camunda 8) or in the Python "
            "subset (scriptFormat python).",
            language=language,
        )
    if not text:
        raise ExpressionError("The script task has no script.")
    if language == "feel":
        feel.compile_expression(text.removeprefix("="))
        if not script.get("result"):
            raise ExpressionError("A FEEL script needs a result variable to store its value in.")
    elif script.get("result"):
        python_subset.check_expression(text)
    else:
        python_subset.check_script(text)


def run_script(job: JobContext) -> dict[str, Any]:
    node = job.instance.definition.elements["nodes"].get(job.element_id, {})
    script = node.get("script") or {}
    text = (script.get("text") or "").strip()
    if script.get("language") == "feel":
        value = feel.to_python(feel.compile_expression(text.removeprefix("=")).evaluate(job.data, now=job.now))
        return checked({script["result"]: value})
    if script.get("result"):
        return checked({script["result"]: python_subset.evaluate(text, job.data)})
    context = dict(job.data)
    python_subset.execute(text, context)
    return checked({k: v for k, v in context.items() if job.data.get(k, object()) != v})


def checked(result: dict[str, Any]) -> dict[str, Any]:
    """A script's variables enter process data only as JSON values of bounded size."""
    check_variables(result)
    return result
