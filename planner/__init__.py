"""Quota transfer planner core: scenarios, validation, the matching model, explanations, proceeds, exports.

Importable without Streamlit. Typical use:

    from planner import load_checked, solve
    scn, problems = load_checked("scenarios/jilin-baseline")
    result = solve(scn)
"""
__version__ = "0.1.0"

from planner.model import SolveResult, solve  # noqa: E402
from planner.scenario import Scenario, save_scenario  # noqa: E402
from planner.validate import Problem, load_checked, validate_folder, validate_scenario  # noqa: E402

__all__ = ["Scenario", "SolveResult", "Problem", "load_checked", "validate_folder", "validate_scenario", "solve",
           "save_scenario", "__version__"]
