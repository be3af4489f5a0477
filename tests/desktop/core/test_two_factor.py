"""Two-step sign-in's local pieces: the QR matrix (segno, computed here), the secret's groups, the saved text."""

from __future__ import annotations

import segno

from desktop.core.password_rules import PASSWORD_RULES, RuleState, rule_states
from desktop.core.two_factor import clean_code, group_secret, qr_matrix, recovery_codes_text

URI = "otpauth://totp/Tech%20Pal:ada%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Tech%20Pal"


def test_the_qr_matrix_is_segnos_at_level_m_without_the_quiet_zone() -> None:
    expected = segno.make(URI, error="m").matrix

    matrix = qr_matrix(URI)

    assert [[int(m) for m in row] for row in matrix] == [list(row) for row in expected]
    assert len(matrix) == len(matrix[0]) == 17 + 4 * segno.make(URI, error="m").version
    assert matrix[0][:7] == (True,) * 7  # a finder pattern's top edge, right at the corner: no border


def test_a_short_uri_still_makes_a_full_qr_code_not_a_micro_one() -> None:
    assert len(qr_matrix("x")) >= 21


def test_the_secret_is_grouped_in_fours_as_apps_show_it() -> None:
    assert group_secret("jbswy3dpehpk3pxp") == "JBSW Y3DP EHPK 3PXP"
    assert group_secret("JBSWY3DPEHPK3PX=") == "JBSW Y3DP EHPK 3PX"
    assert group_secret(" JBSW Y3DP ") == "JBSW Y3DP"


def test_spaces_in_a_typed_code_are_dropped() -> None:
    assert clean_code(" 123 456\n") == "123456"
    assert clean_code("abcde-fghij") == "abcde-fghij"


def test_the_saved_codes_say_whose_they_are_and_that_each_works_once() -> None:
    text = recovery_codes_text(["aaaaa-bbbbb", "ccccc-ddddd"], email="ada@example.com", server="https://h.example")

    lines = text.splitlines()
    assert lines[-2:] == ["aaaaa-bbbbb", "ccccc-ddddd"]
    assert "Account: ada@example.com" in lines
    assert "Server: https://h.example" in lines
    assert any("once" in line for line in lines)
    assert text.endswith("\n")


def test_the_password_rules_are_the_servers_three() -> None:
    assert [rule.key for rule in PASSWORD_RULES] == ["length", "common", "identity"]
    assert PASSWORD_RULES[0].text.startswith("At least 10 characters")


def test_the_rules_the_app_can_check_are_ticked_while_typing() -> None:
    def states(password: str) -> dict[str, RuleState]:
        return rule_states(password, email="Ada@Example.com", username="lovelace")

    assert states("short") == {"length": RuleState.UNMET, "common": RuleState.SERVER, "identity": RuleState.MET}
    assert states("a long passphrase")["length"] is RuleState.MET
    assert states("123456789")["length"] is RuleState.UNMET
    assert states("1234567890")["length"] is RuleState.MET
    assert states("my LOVELACE password")["identity"] is RuleState.UNMET
    assert states("ada is my name, ok")["identity"] is RuleState.UNMET  # the address's local part
    assert states("xx ada@example.com")["identity"] is RuleState.UNMET
