"""The carrier's own texts by hand: ``webhook NAME`` prints where SMS Gateway for Android is to
post them, ``poll`` asks the other gateways now, and ``history --inbound`` lists what came."""

from __future__ import annotations

import click

from simkeeper import app
from simkeeper.app import inbound
from simkeeper.cli.base import NOW_OPTION, Context, parse_now
from simkeeper.core.errors import UsageError
from simkeeper.core.model import Config, Number
from simkeeper.present.views import json_array, local_stamp
from simkeeper.texts.display import table
from simkeeper.texts.i18n import Translator, translator


@click.command("webhook")
@click.argument("gateway")
@click.pass_obj
def webhook_cmd(obj: Context, gateway: str) -> None:
    """Print the address GATEWAY (an android-sms-gateway with a signing_key) is to post the
    texts it receives to: set it in the app as the sms:received webhook. It holds a secret
    made from the signing key: keep it as private as the key."""
    config = obj.load(validate_urls=False)
    found = config.gateway(gateway)
    if found is None or found.kind != "android-sms-gateway":
        raise UsageError(
            f'no android-sms-gateway is called "{gateway}"', "webhooks come from that kind only"
        )
    if not found.signing_key:
        raise UsageError(
            f"{gateway} has no signing_key (or its ${{VAR}} is not set)",
            'set the app\'s webhook signing key, then signing_key = "${SMSGATE_SIGNING_KEY}"',
        )
    if config.web is None:
        raise UsageError("the config has no [web] table", "the web face receives the webhook")
    click.echo(inbound.webhook_url(config, found))


@click.command("poll")
@NOW_OPTION
@click.pass_obj
def poll_cmd(obj: Context, now: str | None) -> None:
    """Ask the gateways that keep received texts (modemmanager, sigmo), and that a number
    listens on, for them now, as the daemon does every 10 minutes; say what each came to."""
    config = obj.load(validate_urls=False)
    moment = parse_now(now, config)
    t = translator(config.settings.language)
    if not inbound.polled(config):
        click.echo(t.gettext("No number listens on a gateway that keeps its texts."))
        return
    redact = app.use_secrets(config)
    with app.open_state(config) as store:
        taken = inbound.poll(config, store, moment, redact, force=True)
        failed = {n: p.error for n, p in store.polls().items() if p.error}
    for text in taken:
        if text.outcome != "duplicate":
            click.echo(f"{text.name or '-'}: {text.outcome} {text.amount}".rstrip())
    for name, error in sorted(failed.items()):
        click.echo(t.gettext("{gateway} did not answer: {error}").format(gateway=name, error=error))
    if failed:
        raise SystemExit(1)


def inbound_json(config: Config, number: Number | None, limit: int) -> str:
    """``history --inbound --format json``: each text kept, its times in the config's zone."""
    texts = inbound.inbound_history(config, number, limit)
    return json_array(
        {
            **vars(x),
            "at": local_stamp(x.at, config, seconds=True),
            "recorded_at": local_stamp(x.recorded_at, config, seconds=True),
        }
        for x in texts
    )


def inbound_lines(config: Config, number: Number | None, limit: int, t: Translator) -> list[str]:
    """``history --inbound``: the texts kept, newest first, with what each came to."""
    texts = inbound.inbound_history(config, number, limit)
    if not texts:
        return [t.gettext("No texts received yet.")]
    rows = [
        [
            local_stamp(x.at, config) or "",
            x.name or "-",
            x.gateway,
            x.sender,
            x.outcome + (t.gettext(" (undone)") if x.undone else ""),
            " ".join(x.text.split())[:70],
        ]
        for x in texts
    ]
    headers = [
        t.gettext("WHEN"),
        t.gettext("NAME"),
        t.gettext("GATEWAY"),
        t.gettext("SENDER"),
        t.gettext("OUTCOME"),
        t.gettext("TEXT"),
    ]
    return [table(headers, rows)]
