"""What can send a text from a SIM (``[[gateways]]``): one module per kind, each wrapping the
maintained client of its protocol, imported only when a keep-alive text is sent or asked
about (in the daemon's worker, never in the idle daemon).

Issue 26 (USSD balance, inbound texts) adds methods to :class:`Client`; the factory and the
outcomes stay (:mod:`.client`).
"""

from __future__ import annotations

from simkeeper.core.model import Gateway
from simkeeper.send.gateways.client import Client as Client
from simkeeper.send.gateways.client import GatewayError as GatewayError
from simkeeper.send.gateways.client import GatewayTimeout as GatewayTimeout
from simkeeper.send.gateways.client import Inbound as Inbound
from simkeeper.send.gateways.client import Outcome as Outcome


def client_for(gateway: Gateway, timeout: float) -> Client:
    """The client of ``gateway``, its library imported now."""
    if gateway.kind == "modemmanager":
        from simkeeper.send.gateways.modemmanager import ModemManagerClient

        return ModemManagerClient(gateway, timeout)
    if gateway.kind == "sigmo":
        from simkeeper.send.gateways.sigmo import SigmoClient

        return SigmoClient(gateway, timeout)
    from simkeeper.send.gateways.android import AndroidClient

    return AndroidClient(gateway, timeout)
