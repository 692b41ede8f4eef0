"""The closed vocabularies of a declaration and of a verdict, defined once.

StrEnums: a member equals its value (`Task.BINARY == "binary"`), so configs, JSON files and
MLflow tags keep their plain strings, while code names the words it means and a typo is an
AttributeError, not a branch that never runs.
"""

from __future__ import annotations

from enum import StrEnum


class Task(StrEnum):
    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"


class Engine(StrEnum):
    """Where the train stage fits the model (mlplat.stages.train dispatches on these)."""

    LOCAL = "local"
    DASK = "dask"


class SplitStrategy(StrEnum):
    STRATIFIED = "stratified"
    RANDOM = "random"
    TIME = "time"
    GROUP = "group"


class BudgetPolicy(StrEnum):
    """What a breached budget does: fail the run, warn, or stop training early (time only)."""

    FAIL = "fail"
    WARN = "warn"
    STOP_EARLY = "stop_early"


class GateStatus(StrEnum):
    """A gate's verdict; `warn` is a miss within the interval, `skip` a gate with nothing to
    judge (no champion yet, a thin slice)."""

    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


class OnlineMode(StrEnum):
    """How `mlplat serve` shares live traffic between the champion and a challenger."""

    OFF = "off"
    SHADOW = "shadow"  # the challenger scores a copy; the champion always answers
    SPLIT = "split"  # fixed weights; the assigned arm answers
    CANARY = "canary"  # weights ramp up while the guardrails hold


class Arm(StrEnum):
    CHAMPION = "champion"
    CHALLENGER = "challenger"


class Verdict(StrEnum):
    """What `mlplat online decide` concluded (its exit code: 0, 1, 1, 3)."""

    PROMOTE = "promote"
    KEEP = "keep"
    ROLLBACK = "rollback"  # a guardrail broke: traffic back to the champion
    CONTINUE = "continue"


class DriftTest(StrEnum):
    """A per-feature drift statistic: PSI and KS on numeric features, Jensen-Shannon distance and
    chi-square on categorical ones. The tests breach when their p-value falls below the limit,
    the distances when they rise above it."""

    PSI = "psi"
    KS = "ks"
    JS = "js"
    CHI2 = "chi2"

    @property
    def is_test(self) -> bool:
        return self in (DriftTest.KS, DriftTest.CHI2)

    @property
    def limit_key(self) -> str:
        """Its limit's key in conf/monitoring and in monitoring.feature_thresholds."""
        return f"{self.value}_pvalue" if self.is_test else f"{self.value}_threshold"


class DeployTarget(StrEnum):
    """What `mlplat deploy render` writes manifests for."""

    KUBERNETES = "kubernetes"
    KSERVE = "kserve"


class KServeMode(StrEnum):
    """KServe's deployment modes (annotation `serving.kserve.io/deploymentMode`)."""

    RAW = "raw"
    SERVERLESS = "serverless"


class AutoscalerClass(StrEnum):
    """KServe raw mode's autoscalers (annotation `serving.kserve.io/autoscalerClass`)."""

    HPA = "hpa"
    KEDA = "keda"


class NotifyKind(StrEnum):
    """How a notification target takes a message (`conf/notify/`)."""

    WEBHOOK = "webhook"  # generic JSON, signed in the Standard Webhooks style
    SLACK = "slack"  # a Slack-compatible incoming webhook: {"text", "blocks"}
    TEAMS = "teams"  # a Microsoft Teams Workflows webhook: an Adaptive Card message


class NotifyEvent(StrEnum):
    """What mlplat tells people about; a target lists the ones it wants."""

    REGISTERED = "version_registered"
    GATES_FAILED = "gates_failed"
    PROMOTED = "champion_promoted"
    ROLLED_BACK = "champion_rolled_back"
    DRIFT = "drift_breach"  # drift or skew, from `mlplat monitor`
    RETRAIN = "retrain_triggered"
    SCORE_LOW = "score_below_min"  # the ML Test Score below `--min-score`
    BUDGET = "budget_exceeded"
    ONLINE_DECISION = "online_decision"
    ALIAS_MOVED = "alias_moved"  # an alias set outside mlplat, heard by `mlplat notify listen`
    TEST = "test"  # `mlplat notify test`: every target takes it


class Delivered(StrEnum):
    """What became of one event at one target."""

    SENT = "sent"  # the receiver answered 2xx
    ALREADY = "already"  # the ledger shows it was sent before: not sent again
    FAILED = "failed"  # every attempt failed, or the target's URL is not set


def choices(vocabulary: type[StrEnum]) -> str:
    """The words, as an error message lists them."""
    return ", ".join(member.value for member in vocabulary)


def knows(vocabulary: type[StrEnum], value: object) -> bool:
    return value in {member.value for member in vocabulary}
