"""The anonymizer: every kind of personal datum gets its placeholder, troubleshooting content survives."""

from __future__ import annotations

import pytest

from server.domain.knowledge.anonymizer import anonymize

KNOWN = ("Jonathan Quillfeather", "jquill", "jonathan.quillfeather@contoso.com")


def check(text: str, placeholder: str, *gone: str) -> str:
    result = anonymize(text, known=KNOWN)
    assert placeholder in result, result
    for value in gone:
        assert value.lower() not in result.lower(), result
    assert anonymize(result, known=KNOWN) == result
    return result


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Jonathan Quillfeather cannot sign in", ["Jonathan", "Quillfeather"]),
        ("signed in as JQUILL on the laptop", ["jquill"]),
        ("quillfeather said the error is back", ["quillfeather"]),
        ("profile C:\\Users\\jdoe\\AppData\\Local\\Microsoft\\Outlook\\x.ost", ["jdoe"]),
        ("home is /home/alice/.config/app", ["alice"]),
    ],
)
def test_names(text: str, gone: list[str]) -> None:
    check(text, "[name]", *gone)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("mail jonathan.quillfeather@contoso.com please", "quillfeather@"),
        ("forwarded to Jane.Doe+it@fabrikam.co.uk", "jane.doe"),
        ("from helpdesk@example.org", "helpdesk@"),
    ],
)
def test_emails(text: str, value: str) -> None:
    check(text, "[email]", value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("call me at +1 (555) 123-4567", "123-4567"),
        ("my number is 555-867-5309", "867-5309"),
        ("phone: 020 7946 0958", "7946"),
        ("+44 20 7946 0958 is the desk", "7946"),
    ],
)
def test_phones(text: str, value: str) -> None:
    check(text, "[phone]", value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("the PC at 192.168.1.23 cannot ping", "192.168.1.23"),
        ("gateway 10.0.0.1.", "10.0.0.1"),
        ("link-local fe80::1ff:fe23:4567:890a%eth0 answers", "fe80::1ff"),
        ("IPv6 2001:db8:85a3::8a2e:370:7334 is set", "2001:db8"),
    ],
)
def test_ip_addresses(text: str, value: str) -> None:
    check(text, "[ip]", value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("adapter 00:1A:2B:3C:4D:5E drops", "00:1a:2b"),
        ("Physical Address. . . : 3C-52-82-AB-CD-EF", "3c-52-82"),
        ("switch shows 001a.2b3c.4d5e", "001a.2b3c"),
    ],
)
def test_mac_addresses(text: str, value: str) -> None:
    check(text, "[mac]", value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("joined fs01.contoso.local to the domain", "fs01"),
        ("the machine DESKTOP-7H2K9QX is slow", "7h2k9qx"),
        ("hostname: srv-print02 fails", "srv-print02"),
        ("dc1.corp.internal does not answer", "dc1.corp"),
    ],
)
def test_hostnames(text: str, value: str) -> None:
    check(text, "[host]", value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("maps \\\\FS-QUILL01\\home$\\docs as H:", "fs-quill01"),
        ("open \\\\server\\share\\Finance\\Q3.xlsx", "finance"),
        ("the path \\\\10.1.2.3\\c$ is denied", "10.1.2.3"),
    ],
)
def test_unc_paths(text: str, value: str) -> None:
    check(text, "[unc-path]", value)


@pytest.mark.parametrize(
    "text",
    [
        "profile of S-1-5-21-3623811015-3361044348-30300820-1013 is corrupt",
        "Azure AD user S-1-12-1-1234567890-1234567890-1234567890-123456789",
    ],
)
def test_sids(text: str) -> None:
    check(text, "[sid]", "-1234567890-", "3623811015")


def test_well_known_sids_survive() -> None:
    assert anonymize("runs as S-1-5-18 in S-1-5-32-544") == "runs as S-1-5-18 in S-1-5-32-544"


@pytest.mark.parametrize(
    ("text", "expected", "gone"),
    [
        ("see https://support.microsoft.com/kb/5005565?x=1 now", "https://support.microsoft.com/[url]", "5005565"),
        ("https://app.example.com/cb?access_token=abcdef123", "[url]", "abcdef123"),
        ("reset at https://login.example.com/reset#token=zz9xx8", "[url]", "zz9xx8"),
        ("https://user:pa55@ftp.example.com/x", "[url]", "pa55"),
        ("https://intranet.corp.local/hr", "[url]", "intranet"),
    ],
)
def test_urls(text: str, expected: str, gone: str) -> None:
    check(text, expected, gone)


def test_a_bare_url_is_kept() -> None:
    assert anonymize("go to https://portal.office.com/.") == "go to https://portal.office.com/."


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("password: hunter2", "hunter2"),
        ("set pwd=S3cr3t! and retried", "s3cr3t"),
        ("the password is Tr0ub4dor&3", "tr0ub4dor"),
        ("api_key=abc123def456", "abc123def456"),
        ("key sk-proj-abcdefghijklmnop123456", "sk-proj"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_"),
        ("AWS AKIAIOSFODNN7EXAMPLE leaked", "akiaiosfodnn7example"),
        ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.sflKxwRJ", "eyjhbgcioi"),
        ("blob aZ3kP9qL2mX8vB1nR7tY4wE6uI0oS5dF in the log", "az3kp9ql2mx8"),
    ],
)
def test_secrets(text: str, value: str) -> None:
    check(text, "[secret]", value)


@pytest.mark.parametrize(
    "text",
    [
        "Error 0x80070005: Access is denied.",
        "AADSTS50076: Due to a configuration change you must use multi-factor authentication.",
        "Outlook version 16.0.1234.5678 crashes",
        "Install KB5005565 and reboot; event ID 4625 is logged",
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE /safe",
        "HRESULT -2147024891 on 2023-10-05, listening on ports 8080 8443",
        "Open C:\\Users\\Public\\Documents and %APPDATA%\\Microsoft\\Teams",
        "GUID {3F2504E0-4F89-11D3-9A0C-0305E82C3301} in the registry, Windows 10.0.19045.3570",
        "Run sfc /scannow, then DISM /Online /Cleanup-Image /RestoreHealth",
    ],
)
def test_troubleshooting_content_survives(text: str) -> None:
    assert anonymize(text, known=KNOWN) == text


def test_idempotent_on_a_mixed_text() -> None:
    text = (
        "Jonathan Quillfeather (jquill, jonathan.quillfeather@contoso.com) on DESKTOP-7H2K9QX at 192.168.1.23 "
        "mapped \\\\FS-QUILL01\\home$ with password: hunter2; SID S-1-5-21-1-2-3-1013; MAC 00:1A:2B:3C:4D:5E; "
        "call +1 555 123 4567; https://x.example.com/a?token=abc; error 0x80070005."
    )
    once = anonymize(text, known=KNOWN)
    assert anonymize(once, known=KNOWN) == once
    assert "0x80070005" in once
    for value in ("jonathan", "quillfeather", "jquill", "desktop-7h2k9qx", "192.168", "hunter2", "00:1a", "4567"):
        assert value not in once.lower(), once
