"""The stylesheet's colour pairs meet WCAG 2.1 AA: 4.5:1 for text, 3:1 for focus rings and borders."""
import re

import pytest

from engine.settings import PROJECT_ROOT

CSS = (PROJECT_ROOT / "webapp" / "ui" / "static" / "css" / "sagsgang.css").read_text("utf-8")
VARIABLES = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", CSS))
WHITE = "#ffffff"


def _colour(name: str) -> str:
    return WHITE if name == "white" else VARIABLES[name]


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


TEXT_PAIRS = [  # (foreground, background): every text colour on every background it is used on
    ("ink", "white"), ("muted", "white"), ("muted", "soft"), ("link", "white"), ("link", "soft"),
    ("link-visited", "white"), ("white", "brand"), ("white", "button"), ("white", "button-hover"),
    ("button", "white"), ("button", "soft"), ("error", "white"), ("error", "error-soft"), ("white", "error"),
    ("ok", "ok-soft"), ("ink", "warn-soft"), ("ink", "ok-soft"), ("ink", "error-soft"), ("ink", "focus"),
    ("brand", "white"),
]
UI_PAIRS = [("ink", "white"), ("ink", "focus"), ("error", "white"), ("focus", "brand")]


@pytest.mark.parametrize("foreground, background", TEXT_PAIRS)
def test_text_contrast(foreground, background):
    assert contrast(_colour(foreground), _colour(background)) >= 4.5


@pytest.mark.parametrize("foreground, background", UI_PAIRS)
def test_focus_and_border_contrast(foreground, background):
    assert contrast(_colour(foreground), _colour(background)) >= 3
