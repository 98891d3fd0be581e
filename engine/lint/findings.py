"""What the linter reports: one finding per problem, on the element it concerns."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

ERROR = "error"
WARNING = "warning"


def N_(message: str) -> str:
    """Mark a message template for translation without translating it here (the engine has no
    locale); the web layer passes the template and its params through gettext."""
    return message


@dataclass(frozen=True)
class Finding:
    """One problem in a case type's model.

    `template` is the English message with %(name)s placeholders (a gettext msgid) and `params`
    its values; `message` is the template filled in. `element` and `file` say where: the BPMN or
    DMN id (or form field) and the model file, so the modeler can mark the element.
    """

    severity: str
    rule: str
    template: str
    params: dict = field(default_factory=dict)
    element: str | None = None
    file: str | None = None

    @property
    def message(self) -> str:
        try:
            return self.template % self.params
        except (KeyError, TypeError, ValueError):
            return self.template

    @property
    def key(self) -> str:
        """What an acknowledgement of a warning refers to: stable across saves of the same model."""
        return f"{self.rule}|{self.file or ''}|{self.element or ''}"

    def as_dict(self) -> dict:
        data = asdict(self)
        data["message"] = self.message
        data["key"] = self.key
        return data


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.severity != ERROR, f.file or "", f.element or "", f.rule))
