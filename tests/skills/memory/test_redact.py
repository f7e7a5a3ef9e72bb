from __future__ import annotations

import pytest

from skills.memory.redact import RedactOptions, Redactor, luhn_ok


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")


@pytest.mark.parametrize(
    "text", ["pay with 4111 1111 1111 1111 today", "card 5500-0000-0000-0004.", "378282246310005"]
)
def test_card_numbers_that_pass_luhn_are_redacted(text: str) -> None:
    out, n = Redactor().redact(text)
    assert "[REDACTED:card]" in out and n == 1
    assert not any(ch.isdigit() for ch in out.replace("[REDACTED:card]", ""))


def test_digit_runs_that_fail_luhn_are_kept() -> None:
    text = "order 4111 1111 1111 1112 and phone 2125550123"
    assert Redactor().redact(text) == (text, 0)


def test_passwords_flagged_secrets_and_government_ids() -> None:
    r = Redactor()
    out, n = r.redact("login password: hunter2 and api_key=abc123; my PIN is 0000", secrets=("s3cr3t-value",))
    assert "hunter2" not in out and "abc123" not in out and "0000" not in out and n == 3
    out, n = r.redact("the wifi is s3cr3t-value, again s3cr3t-value", secrets=("s3cr3t-value",))
    assert out.count("[REDACTED:secret]") == 2 and n == 2
    out, n = r.redact("SSN 123-45-6789, NI AB 12 34 56 C, CPF 123.456.789-09")
    assert "123-45-6789" not in out and "AB 12 34 56 C" not in out and "123.456.789-09" not in out and n == 3


def test_redaction_is_configurable() -> None:
    r = Redactor(RedactOptions(cards=False, government_ids=False, extra=(("badge", r"BADGE-\d{4}"),)))
    out, n = r.redact("card 4111111111111111 ssn 123-45-6789 badge BADGE-1234")
    assert "4111111111111111" in out and "123-45-6789" in out
    assert "BADGE-1234" not in out and n == 1


def _unguarded(text: str) -> tuple[str, int]:
    """The redaction rules run one after another with no guard or shortcut: what redact() must equal."""
    from skills.memory import redact as R

    n = 0
    text, k = R._CARD.subn(R._card_sub, text)
    n += k - text.count("\0")
    text = text.replace("\0", "")
    text, k = R._PASSWORD.subn(lambda m: f"{m.group(1)}{m.group(2)}[REDACTED:password]", text)
    n += k
    for name in ("ssn", "nino", "cpf", "iban"):
        text, k = R._GOV[name].subn(f"[REDACTED:{name}]", text)
        n += k
    return text, n


def test_guards_never_change_what_is_redacted() -> None:
    # Random text dense in digits, separators, capitals and password words, so every rule and
    # every guard is exercised; the guarded redact() must give exactly the unguarded result.
    import random

    rnd = random.Random(5)
    pieces = [
        "4111 1111 1111 1111",
        "5500-0000-0000-0004",
        "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
        "123-45-6789",
        "AB 12 34 56 C",
        "AB123456C",
        "123.456.789-09",
        "GB82WEST12345698765432",
        "password: x1",
        "Token=abc",
        "my pin is 0000",
        "PWD : q",
        "12",
        "-",
        ".",
        " ",
        "ab",
        "XY",
        "9",
        "é",
        "٣",
        "is",
    ]
    r = Redactor()
    for _ in range(3000):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 6)))
        assert r.redact(text) == _unguarded(text), text
        assert r.clean(text) is False or _unguarded(text) == (text, 0), text
