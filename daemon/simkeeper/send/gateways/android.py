"""SMS Gateway for Android (its local server or its cloud API) through ``android-sms-gateway``,
the gateway's own Python client: ``POST /messages`` to send, ``GET /messages/{id}`` for the
state. The message id is ours, so a state can be asked for after a crash."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from simkeeper.core.model import Gateway
from simkeeper.send.gateways.client import GatewayError, Inbound, Outcome

_STATES = {
    "Pending": "pending",
    "Processed": "pending",
    "Sent": "sent",
    "Delivered": "delivered",
    "Failed": "failed",
    "Cancelled": "failed",
    "Cancelling": "failed",
}
_REFUSED = (400, 401, 403, 409, 422)  # it said no: nothing was queued


class AndroidClient:
    """One android-sms-gateway server."""

    def __init__(self, gateway: Gateway, timeout: float) -> None:
        import requests
        from android_sms_gateway import client, http

        class _Session(requests.Session):
            # The client library passes no timeout: every request gets ours, so a gateway
            # that hangs costs at most ``timeout`` seconds.
            def request(self, *args: Any, **kwargs: Any) -> Any:
                kwargs.setdefault("timeout", timeout)
                return super().request(*args, **kwargs)

        self._api = client.APIClient(
            gateway.user or None,
            gateway.password,
            base_url=gateway.url,
            http=http.RequestsHttpClient(session=_Session()),
        )

    def send(
        self, msg_id: str, to: str, text: str, sim: int | None, keep_ref: Callable[[str], None]
    ) -> Outcome:
        """POST the message with our id and a delivery report asked for."""
        from android_sms_gateway import domain

        message = domain.Message(
            phone_numbers=[to],
            text_message=domain.TextMessage(text=text),
            sim_number=sim,
            with_delivery_report=True,
            id=msg_id,
        )
        return self._ask(lambda: self._api.send(message))

    def state(self, msg_id: str, ref: str | None, to: str, text: str) -> Outcome:
        """GET the message's state by our id; ``missing`` when the gateway never had it."""
        return self._ask(lambda: self._api.get_state(msg_id))

    def ussd(self, code: str, replies: tuple[str, ...] = ()) -> str:
        """SMS Gateway for Android's API has no USSD: always refused (``check`` refuses a
        ``balance_check`` through this kind before it gets here)."""
        raise GatewayError("the android-sms-gateway kind cannot run USSD codes", refused=True)

    def received(self, since: datetime | None) -> list[Inbound]:
        """None asked: the gateway posts what it receives to the web face (its webhook,
        :mod:`simkeeper.send.gateways.webhook`)."""
        return []

    def _ask(self, call: Any) -> Outcome:
        from android_sms_gateway import errors

        try:
            state = call()
        except errors.NotFoundError:
            return Outcome("missing")
        except errors.APIError as e:
            code = getattr(e, "status_code", None)
            raise GatewayError(
                f"the gateway answered HTTP {code}", refused=code in _REFUSED
            ) from None
        except Exception as e:  # requests' connection errors and timeouts, a bad answer
            raise GatewayError(f"the gateway did not answer ({type(e).__name__})") from None
        error = next((r.error for r in state.recipients if r.error), "") or ""
        return Outcome(_STATES.get(state.state.value, "pending"), error=error)
