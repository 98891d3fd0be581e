"""Messages of plain BPMN files (no SpiffWorkflow extensions) keep BPMN's own payload rules.

Sagsgang parses every non-Camunda model with the Spiff parser. Its message events carry only what
`spiffworkflow:messagePayload` computes and keep a received payload only under
`spiffworkflow:messageVariable`; a plain BPMN file has neither, so its messages would go out empty,
without their correlation key, and arrive to be dropped. SpiffWorkflow's own plain parser does what
the standard means instead: a thrown message carries the task's data (from which the correlation
properties' messagePath expressions compute the key) and a caught one is merged into the task data.
After parsing, the message events of plain files get that behaviour here.
"""
from __future__ import annotations

from collections.abc import Iterable

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition as BpmnMessageEventDefinition
from SpiffWorkflow.spiff.serializer.event_definition import MessageEventDefinitionConverter
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition as SpiffMessageEventDefinition


class PlainMessageEventDefinition(SpiffMessageEventDefinition):
    """A message event as plain BPMN defines it: the task data out, the payload merged in."""

    def throw(self, my_task):
        BpmnMessageEventDefinition.throw(self, my_task)

    def update_task_data(self, my_task):
        BpmnMessageEventDefinition.update_task_data(self, my_task)


# A thrown message can wait in a stored workflow until it is routed, so the state serializer must
# know the class: engine.runtime.state passes these converters with SpiffWorkflow's SPIFF_CONFIG
# explicitly (that global table is left alone, so no import order decides what the serializer knows).
SERIALIZER_CONVERTERS = {PlainMessageEventDefinition: MessageEventDefinitionConverter}


def _plain(definition):
    """The plain counterpart of a Spiff message definition that uses no Spiff extension, else None."""
    if (type(definition) is SpiffMessageEventDefinition and definition.expression is None
            and definition.message_var is None and not definition.process_correlations):
        return PlainMessageEventDefinition(definition.name, definition.correlation_properties,
                                           description=definition.description)
    return None


def use_plain_messages(task_specs: Iterable, plain_files: set[str], file_of) -> int:
    """Give the message events of task specs from `plain_files` plain semantics; returns how many."""
    changed = 0
    for task_spec in task_specs:
        definition = getattr(task_spec, "event_definition", None)
        if definition is None or file_of(task_spec) not in plain_files:
            continue
        inner = getattr(definition, "event_definitions", None)  # an event-based gateway's or a multiple event's
        if inner is not None:
            for index, single in enumerate(inner):
                plain = _plain(single)
                if plain is not None:
                    inner[index] = plain
                    changed += 1
            continue
        plain = _plain(definition)
        if plain is not None:
            task_spec.event_definition = plain
            changed += 1
    return changed
