"""A prompt's question is read whole at any size: at 80 columns apiserver-oom's decision
("... or a static pod on control-plane nodes?") was cut at the box's edge (seen in tmux)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from textual.app import App
from textual.screen import ModalScreen

from tui.screens.prompt import ChoicePrompt, TextPrompt

pytestmark = pytest.mark.anyio
QUESTION = ("Is kube-apiserver a Deployment in a hosted control plane, or a static pod on "
            "control-plane nodes? Pick the one this cluster runs, then confirm the limits.")
PROMPTS: dict[str, Callable[[], ModalScreen[str | None]]] = {
    "choice": lambda: ChoicePrompt(QUESTION, [("hosted", "Hosted control plane"), ("static-pod", "Static pod")]),
    "text": lambda: TextPrompt(QUESTION),
}


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("kind", list(PROMPTS))
async def test_a_long_question_wraps_inside_the_box(size: tuple[int, int], kind: str) -> None:
    app: App[None] = App()
    async with app.run_test(size=size) as pilot:
        app.push_screen(PROMPTS[kind]())
        await pilot.pause()
        label = app.screen.query_one(".prompt-question")
        box = app.screen.query_one(".prompt-box")
        assert label.region.right <= box.content_region.right  # not wider than the box: nothing cut
        assert label.region.height >= math.ceil(len(QUESTION) / label.region.width)  # every line of it
