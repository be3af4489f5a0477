"""Fixed word lists the detectors share: vendors' domains, well-known Windows names, top-level domains, cues."""

from __future__ import annotations

__all__ = [
    "DEPARTMENTS",
    "FILE_EXTENSIONS",
    "FREE_MAIL",
    "GENERIC_SUBDOMAINS",
    "KEPT_IPS",
    "REGISTRY_ROOTS",
    "SECOND_LEVEL",
    "SHARED_PROFILES",
    "STANDARD_PREFIXES",
    "TENANT_DOMAINS",
    "TLDS",
    "VENDOR_DOMAINS",
    "WELL_KNOWN_DOMAINS",
    "WELL_KNOWN_PRINCIPALS",
    "WINDOWS_FOLDERS",
    "word_set",
]


def word_set(text: str) -> frozenset[str]:
    """The words of ``text``, whitespace-separated."""
    return frozenset(text.split())


# Public names of software vendors and services: an article may name them.
VENDOR_DOMAINS = word_set(
    """
    microsoft.com microsoftonline.com office.com office.net office365.com live.com outlook.com hotmail.com
    windows.com windows.net windowsupdate.com msftconnecttest.com msn.com bing.com azure.com azure.net
    azureedge.net azurewebsites.net sharepoint.com onmicrosoft.com skype.com xbox.com aka.ms msft.net
    visualstudio.com github.com githubusercontent.com google.com googleapis.com gstatic.com gmail.com youtube.com
    apple.com icloud.com mozilla.org firefox.com adobe.com zoom.us zoom.com slack.com webex.com cisco.com dell.com
    hp.com lenovo.com intel.com nvidia.com amd.com amazon.com amazonaws.com cloudflare.com ubuntu.com debian.org
    python.org pypi.org npmjs.com docker.com java.com oracle.com vmware.com citrix.com okta.com duo.com
    duosecurity.com salesforce.com dropbox.com box.com atlassian.com atlassian.net zendesk.com service-now.com
    servicenow.com wikipedia.org example.com example.org example.net localhost whatsapp.com yahoo.com
    """
)
# Vendors that give each customer a name of its own: the label before them is the customer (acme.sharepoint.com).
TENANT_DOMAINS = word_set(
    """
    sharepoint.com onmicrosoft.com atlassian.net service-now.com zendesk.com slack.com okta.com zoom.us webex.com
    box.com salesforce.com azurewebsites.net
    """
)
GENERIC_SUBDOMAINS = word_set(
    """
    www login support docs learn portal admin outlook teams account accounts aka go download downloads update api
    app apps status help community answers techcommunity store my mail web secure auth sso signin signup id
    developer developers cdn static assets blog news events
    """
)
# Mail providers anyone can use: their domain is not a company's name.
FREE_MAIL = word_set(
    """
    gmail.com googlemail.com outlook.com hotmail.com live.com msn.com yahoo.com ymail.com icloud.com me.com mac.com
    aol.com proton.me protonmail.com gmx.com gmx.de gmx.net web.de t-online.de mail.com yandex.com zoho.com
    fastmail.com hey.com example.com example.org example.net
    """
)
SECOND_LEVEL = word_set("co.uk org.uk ac.uk gov.uk com.au net.au org.au co.nz co.jp co.in co.za com.br com.mx com.cn")
# Top-level domains a host name in a ticket ends with; those that are also file extensions (.py, .sh, .md) are left
# out, so ``setup.py`` is not a host.
TLDS = word_set(
    """
    com net org info biz edu gov mil int io co app dev cloud tech online site xyz local lan corp internal intranet
    localdomain home ad priv private test uk de fr nl ch se dk fi es pt cz sk hu ro bg gr ie eu ca au nz jp cn br
    mx ar za ru ua tr il sg hk kr tw lu li lt lv ee si hr rs ae sa qa us
    """
)
FILE_EXTENSIONS = word_set(
    """
    exe dll msi msu cab sys ini cfg conf log txt csv json xml yml yaml ps1 bat cmd vbs js py sh md pdf doc docx xls
    xlsx xlsm ppt pptx pst ost msg eml zip 7z rar iso img vhd vhdx bak tmp dat db sql html htm aspx php jpg jpeg
    png gif bmp svg mp4 mov wav mp3 ttf otf reg inf cat cer crt pem pfx key lnk url
    """
)
KEPT_IPS = word_set("8.8.8.8 8.8.4.4 1.1.1.1 1.0.0.1 9.9.9.9 149.112.112.112 208.67.222.222 208.67.220.220 0.0.0.0")
# Prefixes of standards and identifiers that look like corporate host names or tags: CVE-2024-21412, ISO-8859-1.
STANDARD_PREFIXES = word_set(
    """
    CVE CWE ISO IEC RFC KB MS UTF SHA AES TLS SSL WPA WPA2 WPA3 IEEE DDR DDR3 DDR4 DDR5 USB PCI LTE HTTP HTTPS RSA
    MD5 X509 EN DIN ANSI NIST SP ECMA ITU IPV4 IPV6 SMB SMB1 SMB2 SMB3 TPM CAT ADV GHSA MSRC ERROR ERR KDC NTLM
    DES 3DES RC4 ECDHE ECDH DHE CBC GCM HMAC PBKDF2 TLS1 AEAD CHACHA20 ECDSA DSA PSK EAP PEAP
    """
)
REGISTRY_ROOTS = word_set(
    """
    hklm hkcu hkcr hku hkcc hkey_local_machine hkey_current_user hkey_classes_root hkey_users hkey_current_config
    """
)
WINDOWS_FOLDERS = word_set(
    """
    windows system32 syswow64 drivers program programdata appdata local locallow roaming temp users public default
    desktop documents downloads pictures music videos favorites links contacts onedrive software microsoft policies
    system currentcontrolset services control classes wow6432node office outlook teams inetpub wwwroot logs bin obj
    debug release src lib include etc var opt usr tmp home library
    pci usb acpi hid swd root storage scsi ide hdaudio bth btht display monitor umb sw wpdbusenum
    """
)
WELL_KNOWN_DOMAINS = word_set("nt authority builtin nt service window manager font driver host iis apppool azuread")
WELL_KNOWN_PRINCIPALS = word_set(
    """
    administrator administrators system users guest guests everyone authenticated localservice networkservice
    trustedinstaller domain krbtgt defaultaccount wdagutilityaccount
    """
)
SHARED_PROFILES = frozenset(
    {"public", "default", "all users", "default user", "shared", "defaultapppool", "administrator", "admin", "root"}
)
DEPARTMENTS = word_set(
    """
    hr it finance payroll accounting accounts legal sales marketing support procurement purchasing facilities
    security operations ops engineering helpdesk servicedesk reception admin administration management compliance
    audit logistics research development r&d qa design product customer service desk billing treasury
    """
)
