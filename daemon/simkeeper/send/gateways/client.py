"""What every gateway kind shares: its client's shape, what it says of a message, its error.
Apart from the package's ``__init__`` so each kind's module imports these without a circle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class GatewayError(Exception):
    """The gateway could not be asked (unreachable, timed out, answered an error)."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused  # it said no: the message surely did not go out


class GatewayTimeout(GatewayError):
    """The gateway (or the network behind it) did not answer in time; ``refused`` is False."""


@dataclass(frozen=True)
class Outcome:
    """What a gateway says of one message.

    ``state`` is ``pending`` (queued or on its way), ``sent`` (left the SIM), ``delivered``
    (the network reported delivery), ``failed`` or ``missing`` (the gateway never had it).
    ``reports`` tells whether a delivery report may still come after ``sent``; ``ref`` is the
    gateway's own handle of the message, when it has one beside our id.
    """

    state: str
    ref: str = ""
    error: str = ""
    reports: bool = True


@dataclass(frozen=True)
class Inbound:
    """A text a gateway's SIM received: who from, what, when (aware), the gateway's own id of
    it (``ref``: unique on that gateway, so a text seen twice is kept once) and the SIM slot
    it came in on, where the gateway says."""

    sender: str
    text: str
    at: datetime
    ref: str
    sim: int | None = None


class Client(Protocol):
    """One gateway's client."""

    def send(
        self, msg_id: str, to: str, text: str, sim: int | None, keep_ref: Callable[[str], None]
    ) -> Outcome:
        """Hand the text over under our ``msg_id``; ``keep_ref`` is called with the gateway's
        own handle, if it has one, before the message can go out. Raises
        :class:`GatewayError`."""
        ...

    def state(self, msg_id: str, ref: str | None, to: str, text: str) -> Outcome:
        """What became of the message handed over as ``msg_id`` (``ref`` if known)."""
        ...

    def ussd(self, code: str, replies: tuple[str, ...] = ()) -> str:
        """Run USSD ``code``, answer each menu step with the next of ``replies``, return the
        final reply text, decoded. Raises :class:`GatewayError` (``refused=False`` for a
        timeout)."""
        ...

    def received(self, since: datetime | None) -> list[Inbound]:
        """The texts received since ``since`` (None: every one the gateway still holds);
        a gateway that posts them instead (a webhook) returns none. Raises
        :class:`GatewayError`."""
        ...
