"""Prefect automations for winnow runs, declared as code (`winnow automations`).

- `winnow: run with errors`: a `winnow-etl` flow run committed error rows: the flow tags such
  runs `winnow-errors` and emits the event `winnow.run.errors` on the flow run
  (flows/summary.py:mark_run_with_errors; the payload has the counts and files). The event is
  the trigger: a tag added during a run is not on the run's own state-change events.
- `winnow: no completed run in 26 h`: no `winnow-etl` flow run completed for 26 hours (a
  nightly schedule missed a night: server, serve process or inputs down).

Each one sends a notification through a Prefect notification block when one is named
(`--notify-block slack-webhook/ops`, any block with a `notify` method); without one it does
nothing but fire, which the UI shows on the automation's page and in the event feed.
Re-running replaces automations of the same name, so the definitions here are the truth.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from flows.summary import ERROR_EVENT, ERROR_TAG

FLOW_NAME = "winnow-etl"
ERRORS_AUTOMATION = "winnow: run with errors"
STALE_AUTOMATION = "winnow: no completed run in 26 h"
STALE_AFTER = timedelta(hours=26)  # a nightly run plus two hours of slack

ERRORS_BODY = (
    "winnow run {{ event.payload.winnow_run_id }} ({{ event.resource.name }}) loaded "
    "{{ event.payload.errors }} error rows, in {{ event.payload.files | join(', ') }}; "
    "see its winnow-errors artifact."
)
STALE_BODY = "No winnow-etl flow run completed in the last 26 hours."


def _flow_related() -> dict:
    return {"prefect.resource.role": "flow", "prefect.resource.name": FLOW_NAME}


def winnow_automations(notify_block_id: UUID | None = None, *, stale_after=STALE_AFTER) -> list:
    """The automations (not yet created): errors and staleness, with their actions."""
    from prefect.automations import (
        AutomationCore,
        DoNothing,
        EventTrigger,
        Posture,
        SendNotification,
    )

    def action(subject: str, body: str):
        if notify_block_id is None:
            return DoNothing()
        return SendNotification(block_document_id=notify_block_id, subject=subject, body=body)

    errors = AutomationCore(
        name=ERRORS_AUTOMATION,
        description=f"A {FLOW_NAME} run completed with error rows (tag {ERROR_TAG}).",
        trigger=EventTrigger(
            expect={ERROR_EVENT},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related=_flow_related(),
            posture=Posture.Reactive,
            threshold=1,
            within=timedelta(0),
        ),
        actions=[action("winnow: run with errors", ERRORS_BODY)],
    )
    stale = AutomationCore(
        name=STALE_AUTOMATION,
        description=f"No {FLOW_NAME} run completed in {stale_after}.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Completed"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related=_flow_related(),
            posture=Posture.Proactive,
            threshold=1,
            within=stale_after,
        ),
        actions=[action("winnow: no completed run", STALE_BODY)],
    )
    return [errors, stale]


def notify_block_id(slug: str) -> UUID:
    """The block document id of a notification block `<block-type>/<name>`."""
    from prefect.blocks.core import Block

    block = Block.load(slug)
    if not hasattr(block, "notify"):
        raise ValueError(f"block {slug} is not a notification block (no notify method)")
    return block._block_document_id


def apply_automations(notify_block: str | None = None) -> list[UUID]:
    """Create the automations on the server at PREFECT_API_URL, replacing same-named ones;
    returns their ids."""
    from prefect import get_client

    block_id = notify_block_id(notify_block) if notify_block else None
    wanted = winnow_automations(block_id)
    ids = []
    with get_client(sync_client=True) as client:
        for automation in wanted:
            for old in client.read_automations_by_name(automation.name):
                client.delete_automation(old.id)
            ids.append(client.create_automation(automation))
    return ids
