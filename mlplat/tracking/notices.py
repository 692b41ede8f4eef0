"""Notifications raised where mlplat changes the registry: a version registered (with its
card), gates failed (which, by how much), the champion promoted or rolled back (with the card
diff). Delivery is `core.notify.deliver`; a receiver that fails is a warning line for the run's
summary, never a failed run. With no target declared nothing here touches the network or disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlplat.core.config.notify import NotifyConfig
from mlplat.core.notify import deliver
from mlplat.core.notify.event import Event, make
from mlplat.core.vocabulary import GateStatus, NotifyEvent

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from mlplat.stages.evaluate.verdicts import Decision, Verdict
    from mlplat.tracking.aliases import AliasEvent


def ledger(notify: NotifyConfig, project: Path | None = None) -> Path:
    return (project or Path.cwd()) / notify.ledger


def wanted(notify: NotifyConfig, *kinds: NotifyEvent) -> bool:
    return any(deliver.wants(t, k) for t in notify.targets.values() for k in kinds)


def tell(notify: NotifyConfig, event: Event, project: Path | None = None) -> tuple[str, ...]:
    """Deliver `event`; what failed, as warning lines for the caller to show."""
    if not wanted(notify, event.kind):
        return ()
    try:
        found = deliver.send(event, notify.targets, ledger(notify, project))
    except OSError as exc:  # the ledger cannot be written: nobody can tell what was sent
        found = ()
        lines: tuple[str, ...] = (f"notifications not sent: ledger {notify.ledger}: {exc}",)
    else:
        lines = tuple(d.line(event.kind) for d in found if not d.ok)
    return lines


def _uri(name: str, version: str) -> str:
    return f"models:/{name}/{version}"


def registered(
    name: str, version: str, run_id: str, card: str, verdict: Decision, promoted: bool
) -> Event:
    gates = "passed" if verdict.passed else f"failed: {'; '.join(verdict.failed)}"
    champion = "now @champion" if promoted else "@challenger"
    facts = {"model": _uri(name, version), "gates": gates, "run": run_id}
    if card:
        facts["card"] = f"mlplat card --model {_uri(name, version)}"
    return make(
        NotifyEvent.REGISTERED,
        (name, version, run_id),
        f"{name} v{version} registered ({champion})",
        f"Gates {gates}." + (f" Model card: runs:/{run_id}/{card}" if card else ""),
        facts=facts,
        model=name,
        version=version,
        link=f"runs:/{run_id}/{card}" if card else None,
    )


def _by_how_much(v: Verdict) -> str:
    if v.value is None or v.bound is None:
        return f"{v.gate} {v.scope} {v.metric}: {v.detail}"
    rule = f"; needs {v.detail}" if v.detail else ""
    return (
        f"{v.gate} {v.scope} {v.metric}: {v.value:.4g}, bound {v.bound:.4g} "
        f"({v.value - v.bound:+.4g}){rule}"
    )


def gates_failed(name: str, version: str, run_id: str, verdict: Decision) -> Event:
    failed = [v for v in verdict.verdicts if v.status == GateStatus.FAIL]
    stays = verdict.champion_version
    return make(
        NotifyEvent.GATES_FAILED,
        (name, version, run_id),
        f"{name} v{version} failed {len(failed)} gate(s)",
        "\n".join(_by_how_much(v) for v in failed[:10]),
        facts={
            "model": _uri(name, version),
            "champion": f"stays v{stays}" if stays else "none yet",
            "failed": "; ".join(verdict.failed),
        },
        model=name,
        version=version,
    )


def at_registration(
    notify: NotifyConfig,
    name: str,
    version: str,
    run_id: str,
    card: str,
    verdict: Decision,
    promoted: bool,
) -> tuple[str, ...]:
    lines = tell(notify, registered(name, version, run_id, card, verdict, promoted))
    if not verdict.passed:
        lines += tell(notify, gates_failed(name, version, run_id, verdict))
    return lines


def diff_summary(client: MlflowClient, name: str, old: str, new: str) -> str:
    """The card diff, in a few lines; a diff that cannot be built is said, not raised."""
    from mlplat.core.card.diff import compare, summary
    from mlplat.core.config.card import CardConfig
    from mlplat.tracking import cards

    try:
        return summary(
            compare(
                cards.card_of(client, name, old, CardConfig()),
                cards.card_of(client, name, new, CardConfig()),
            )
        )
    except Exception as exc:  # the move stands; the message says what it could not read
        return f"(no card diff: {exc})"


def moved(name: str, event: AliasEvent, diff: str) -> Event:
    back = event.action == "rollback"
    kind = NotifyEvent.ROLLED_BACK if back else NotifyEvent.PROMOTED
    was = f" (was v{event.previous})" if event.previous else ""
    verb = "rolled back to" if back else "promoted to"
    return make(
        kind,
        (name, event.alias, event.version, event.previous, event.at),
        f"{name}@{event.alias} {verb} v{event.version}{was}",
        f"{event.action} by {event.by}: {event.reason}\n{diff}".strip(),
        facts={
            "model": _uri(name, event.version),
            "previous": f"v{event.previous}" if event.previous else "none",
            "by": event.by,
            "action": event.action,
        },
        model=name,
        version=event.version,
        link=f"mlplat card diff --from {_uri(name, event.previous or '')} --to "
        f"{_uri(name, event.version)}"
        if event.previous
        else None,
    )


def at_move(
    notify: NotifyConfig, client: MlflowClient, name: str, event: AliasEvent
) -> tuple[str, ...]:
    """A champion promoted or rolled back, with the card diff (built only if a target wants
    it: two cards are a second's work)."""
    if not wanted(notify, NotifyEvent.PROMOTED, NotifyEvent.ROLLED_BACK):
        return ()
    same = event.previous in (None, event.version)
    diff = "" if same else diff_summary(client, name, str(event.previous), event.version)
    return tell(notify, moved(name, event, diff))
