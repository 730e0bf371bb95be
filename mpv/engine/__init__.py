"""The engine: SpiffWorkflow process instances, one transaction per step (``engine.py``, ``step.py``), their saved
state (``state.py``) and the values the faces pass in and get back (``values.py``)."""
from .engine import Engine
from .state import STATE_FORMAT, InstanceState, prune_finished
from .step import Step
from .values import CIUDADANO, SISTEMA, Actor, NuevoAdjunto, StepResult, TaskView

__all__ = ["CIUDADANO", "SISTEMA", "STATE_FORMAT", "Actor", "Engine", "InstanceState", "NuevoAdjunto", "Step",
           "StepResult", "TaskView", "prune_finished"]
