"""An instance's saved state: serialized without its spec, and without the finished part of its task tree.

The spec is the stored definition the instance started with; the history of finished tasks is in Evento rows.
So a step costs about the same on the fiftieth derivation as on the first.
"""
from __future__ import annotations

import uuid
from importlib.metadata import version as package_version

import orjson
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from .definitions import Definition

STATE_FORMAT = f"mpv1/spiff-{package_version('SpiffWorkflow')}"


class InstanceState:
    """Turns an instance into the text saved in ``Expediente.estado_motor`` and back."""

    def __init__(self):
        self.registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
        InstanceConverter(BpmnWorkflow, self.registry)

    def dump(self, workflow: BpmnWorkflow) -> str:
        return orjson.dumps(self.registry.convert(workflow)).decode()

    def restore(self, text: str, definition: Definition) -> BpmnWorkflow:
        return self.registry.restore(orjson.loads(text), definition=definition)

    def rebind(self, workflow: BpmnWorkflow, definition: Definition) -> BpmnWorkflow:
        """The same instance on another definition's spec (for a migration that already checked they fit)."""
        return self.registry.restore(self.registry.convert(workflow), definition=definition)


class InstanceConverter(BpmnWorkflowConverter):
    """Serializes an instance without its spec, which is the stored definition it started with."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, definition: Definition):
        workflow = self.target_class(definition.spec, definition.subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], uuid.UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(uuid.UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _prune_tree(workflow):
    open_tasks = [t for t in workflow.tasks.values() if not t.has_state(TaskState.FINISHED_MASK)]
    if not open_tasks:
        return
    paths = []
    for task in open_tasks:
        path, node = [], task
        while node is not None:
            path.append(node)
            node = node.parent
        paths.append(path)
    common = set.intersection(*({t.id for t in path} for path in paths))
    new_root = next((t for t in paths[0] if t.id in common and t.has_state(TaskState.FINISHED_MASK)), None)
    if new_root is not None and new_root is not workflow.task_tree:
        data = new_root.data
        workflow.tasks = {t.id: t for t in new_root}
        new_root._parent = None
        new_root.data = data
        workflow.task_tree = new_root
    root = workflow.task_tree
    if root.id in common:
        _prune_branches(workflow, root, [p[:p.index(root)] for p in paths if root in p])
    if workflow.last_task is not None and workflow.last_task.id not in workflow.tasks:
        workflow.last_task = None


def _prune_branches(workflow, root, paths):
    """Below a fork that stays open (the procedure deadline's branch waits beside the trámite's own), each
    branch keeps only what its open tasks need: from the deepest finished task they share, whose parent
    becomes the fork. Without this, every finished task of a long-running branch would stay in the state."""
    branches = {}
    for path in paths:
        if path:
            branches.setdefault(path[-1].id, []).append(path)
    for first_id, branch in branches.items():
        common = set.intersection(*({t.id for t in path} for path in branch))
        keep = next((t for t in branch[0] if t.id in common and t.has_state(TaskState.FINISHED_MASK)), None)
        if keep is None or keep.id == first_id:
            continue
        dropped = {t.id for t in workflow.tasks[first_id]} - {t.id for t in keep}
        root._children = [keep.id if child == first_id else child for child in root._children]
        keep._parent = root.id
        for task_id in dropped:
            del workflow.tasks[task_id]


def prune_finished(workflow: BpmnWorkflow):
    """Drop the finished part of each task tree above everything still open.

    The history of finished tasks is kept in Evento rows; SpiffWorkflow only needs the subtrees that
    hold the open tasks. Each new root keeps the full process data (the serializer stores a root's
    data whole, and each other task's as a delta from its parent). Subprocesses (one per office of a
    multi-instance derivation) are pruned the same way, and dropped once their parent task is gone.
    """
    _prune_tree(workflow)
    for sub in workflow.subprocesses.values():
        if not sub.is_completed():
            _prune_tree(sub)
    while True:
        live = set(workflow.tasks)
        for sub in workflow.subprocesses.values():
            live.update(sub.tasks)
        orphans = [key for key, sub in workflow.subprocesses.items() if sub.parent_task_id not in live]
        if not orphans:
            return
        for key in orphans:
            del workflow.subprocesses[key]

