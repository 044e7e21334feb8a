"""PROVISIONING_REPORT and the VM id through hyperv_kvp.reporting: the
peers' own examples byte for byte, insert over the reports cloud-init
appended, shortening, and the VM id under a fake sysfs root."""

from __future__ import annotations

import errno
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest

from conftest import report_fixture
from hyperv_kvp import (
    InvalidFieldError,
    KvpError,
    KvpPool,
    ReportFormatError,
    ReportTooLargeError,
    TooLargeError,
    VmIdError,
)
from hyperv_kvp.reporting import (
    AZURE_CHASSIS_ASSET_TAG,
    DOCUMENTATION_URL,
    PROVISIONING_REPORT_KEY,
    SHORTENED_FIELD,
    SHORTENED_SUFFIX,
    Dialect,
    Generation,
    Machine,
    PpsType,
    ProvisioningReport,
    ReportResult,
    read_report,
    vm_id_of,
    write_report,
)

CLOUD_INIT_VM = "0e5e179d-5341-478b-8456-fbb90621bdf8"
CLOUD_INIT_TS = "2026-06-17T00:00:00.123456+00:00"
VM = "00000000-0000-0000-0000-000000000abc"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def report_of(case: Any) -> ProvisioningReport:
    pps = case["pps_type"]
    return ProvisioningReport(
        ReportResult(case["result"]),
        case["agent"],
        case["vm_id"],
        timestamp=case["timestamp"],
        pps_type=None if pps is None else PpsType(pps),
        reason=case["reason"],
        documentation_url=case["documentation_url"],
        supporting_data=tuple((k, v) for k, v in case["supporting_data"]),
    )


@pytest.mark.parametrize(
    "case",
    report_fixture("peer-examples.json")["reports_azure_init"],
    ids=lambda case: str(case["from"]).rsplit(" ", 1)[-1],
)
def test_azure_init_examples_byte_for_byte(case: Any) -> None:
    report = report_of(case)
    assert report.encode(Dialect.AZURE_INIT) == case["value"]
    assert report.encode_safe("azure-init") == case["value"]
    assert ProvisioningReport.decode(case["value"]) == report


def cloud_init_reports(name: str) -> Tuple[Any, List[str]]:
    fx = report_fixture(name)
    return fx, [value for key, value in fx["records"] if key == PROVISIONING_REPORT_KEY]


def test_cloud_init_22_4_writes_no_report() -> None:
    fx, written = cloud_init_reports("cloud-init-22.4.2.json")
    assert fx["reports"] == [] and written == []


@pytest.mark.parametrize("name", ["cloud-init-25.1.4.json", "cloud-init-26.2.json"])
def test_cloud_init_reports_byte_for_byte(name: str) -> None:
    fx, written = cloud_init_reports(name)
    agent = f"Cloud-Init/{fx['cloud_init_version']}"
    success = ProvisioningReport.success(agent, CLOUD_INIT_VM, timestamp=CLOUD_INIT_TS)
    assert success.encode(Dialect.CLOUD_INIT) == written[0]
    assert ProvisioningReport.decode(written[0]) == success
    assert len(written) == len(fx["reports"]) == 3
    for case, value in zip(fx["reports"][1:], written[1:]):
        error = ProvisioningReport.error(
            agent,
            CLOUD_INIT_VM,
            case["reason"],
            timestamp=CLOUD_INIT_TS,
            supporting_data=[(k, v) for k, v in case["supporting_data"]],
        )
        ours = error.encode(Dialect.CLOUD_INIT)
        if len(value) < 1023:
            assert ours == value  # quotes doubled, '|' and a newline inside quotes
            assert ProvisioningReport.decode(value) == error
            continue
        # cloud-init kept the first 1023 characters of the same row, inside
        # a quoted field: the CSV is broken and the decoder says why.
        assert ours.startswith(value)
        with pytest.raises(ReportFormatError) as caught:
            ProvisioningReport.decode(value)
        assert caught.value.reason == "malformed" and "1023" in caught.value.detail
        # Ours is whole, within what the host receives, and marked.
        safe = error.encode_safe(Dialect.CLOUD_INIT)
        assert utf16_len(safe) <= 1022
        back = ProvisioningReport.decode(safe)
        assert back.shortened == utf16_len(ours)
        assert back.supporting_data[0][1].endswith(SHORTENED_SUFFIX)
        assert back.supporting_data[-1] == (SHORTENED_FIELD, str(utf16_len(ours)))
        assert (back.vm_id, back.timestamp, back.documentation_url) == (CLOUD_INIT_VM, CLOUD_INIT_TS, DOCUMENTATION_URL)


HOSTILE_TEXT = [
    "plain",
    "pipe | and = and , inside",
    "single ' and double \" quotes, doubled ''\"\"",
    "new\nline and\r\ncarriage",
    "unicode é€😀 and \t tab",
    "",
]


@pytest.mark.parametrize("dialect", list(Dialect))
@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_round_trip_in_both_dialects(dialect: Dialect, text: str) -> None:
    reports = [
        ProvisioningReport.error(
            "Agent/1.0",
            VM,
            text or "empty supporting value",
            timestamp="2026-06-17T00:00:00+00:00",
            pps_type=PpsType.PREPROVISIONED_OS_DISK,
            supporting_data=[("first", text), ("dup", "1"), ("dup", "2")],
        ),
        ProvisioningReport.success(
            "Agent/1.0", VM, timestamp="T", supporting_data={"detail": text or "x"}
        ),
    ]
    for report in reports:
        value = report.encode(dialect)
        assert report.encode_safe(dialect) == value
        back = ProvisioningReport.decode(value)
        if dialect is Dialect.AZURE_INIT and report.pps_type is None:
            back = replace(back, pps_type=None)  # written as None
        assert back == report
        assert back.shortened is None


def test_dialects_differ_in_quote_and_layout() -> None:
    report = ProvisioningReport.error("A/1", VM, "boom", timestamp="T", supporting_data={"k": "a|b"})
    assert report.encode(Dialect.CLOUD_INIT) == (
        f"result=error|reason=boom|agent=A/1|'k=a|b'|vm_id={VM}|timestamp=T|documentation_url={DOCUMENTATION_URL}"
    )
    assert report.encode() == report.encode(Dialect.AZURE_INIT) == (
        f'result=error|reason=boom|agent=A/1|"k=a|b"|pps_type=None|vm_id={VM}|timestamp=T'
        f"|documentation_url={DOCUMENTATION_URL}"
    )
    now = ProvisioningReport.success("A/1", VM)  # no timestamp: now, as each peer spells it
    assert ProvisioningReport.decode(now.encode(Dialect.CLOUD_INIT)).timestamp is not None


def test_write_report_inserts_over_appended_cloud_init_reports(tmp_path: Path) -> None:
    fx, written = cloud_init_reports("cloud-init-26.2.json")
    pool = KvpPool(1, directory=tmp_path, mode="full")  # cloud-init's 1023-character value
    pool.load([(k, v) for k, v in fx["records"]])
    first = [r.key for r in pool.records()].index(PROVISIONING_REPORT_KEY)
    # The last report cloud-init appended is the one cut inside a quote.
    with pytest.raises(ReportFormatError):
        read_report(pool)
    report = ProvisioningReport.error(
        "My-Agent/1.0", VM, "no network", pps_type=PpsType.NONE, supporting_data={"interface": "eth0"}
    )
    value = write_report(pool, report, Dialect.CLOUD_INIT)
    records = pool.records()
    assert [r.key for r in records].count(PROVISIONING_REPORT_KEY) == 1
    assert records[first] == (PROVISIONING_REPORT_KEY, value)
    assert len(records) == len(fx["records"]) - len(written) + 1
    found = read_report(pool)
    assert found is not None and found.timestamp is not None
    assert found == replace(report, timestamp=found.timestamp)
    assert write_report(pool, ProvisioningReport.success("My-Agent/1.0", VM)).startswith("result=success|")
    assert [r.key for r in pool.records()].count(PROVISIONING_REPORT_KEY) == 1
    assert read_report(KvpPool(1, directory=tmp_path / "none")) is None


@pytest.mark.parametrize("dialect", list(Dialect))
def test_long_reports_are_shortened_whole_and_marked(pool: KvpPool, dialect: Dialect) -> None:
    report = ProvisioningReport.error(
        "My-Agent/1.0",
        VM,
        "é" * 3000,
        timestamp="2026-06-17T00:00:00+00:00",
        supporting_data=[("trace", "x|'\"" * 400), ("short", "kept")],
    )
    full = report.encode(dialect)
    value = write_report(pool, report, dialect)
    assert pool.read(PROVISIONING_REPORT_KEY) == value
    assert 1000 < utf16_len(value) <= 1022
    back = read_report(pool)
    assert back is not None and back.shortened == utf16_len(full)
    assert back.reason is not None and back.reason.endswith(SHORTENED_SUFFIX)
    assert back.supporting_data[1] == ("short", "kept")
    assert (back.agent, back.vm_id, back.documentation_url) == ("My-Agent/1.0", VM, DOCUMENTATION_URL)


def test_fixed_fields_too_long(pool: KvpPool) -> None:
    report = ProvisioningReport.success("a" * 1100, VM, timestamp="T")
    with pytest.raises(ReportTooLargeError) as caught:
        write_report(pool, report)
    error = caught.value
    assert isinstance(error, TooLargeError) and isinstance(error, ValueError) and isinstance(error, KvpError)
    assert (error.limit, error.unit) == (1022, "utf16-code-units") and error.actual > 1022
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ReportTooLargeError) and (copy.limit, copy.actual) == (error.limit, error.actual)
    assert pool.record_count() == 0
    assert len(report.encode()) > 1100  # the exact encoding has no limit


@pytest.mark.parametrize(
    "value",
    [
        "",
        "result=success",
        "result=maybe|agent=a|vm_id=v|timestamp=t",
        "result=error|agent=a|vm_id=v|timestamp=t",
        "result=success|agent=a|agent=b|vm_id=v|timestamp=t",
        "result=success|agent=a|vm_id=v|timestamp=t|pps_type=Other",
        "result=success|agent=a|vm_id=v|timestamp=t|novalue",
        "result=success|agent=a|vm_id=v|timestamp=t|'open=",
    ],
)
def test_decode_refuses_what_is_not_a_report(value: str) -> None:
    with pytest.raises(ReportFormatError) as caught:
        ProvisioningReport.decode(value)
    assert isinstance(caught.value, ValueError) and caught.value.reason == "malformed"
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (copy.reason, copy.detail, str(copy)) == (caught.value.reason, caught.value.detail, str(caught.value))


def test_report_arguments_are_checked() -> None:
    bad: Any = 5
    with pytest.raises(TypeError):
        ProvisioningReport.success(bad, VM)
    with pytest.raises(TypeError):
        ProvisioningReport.error("a", VM, bad)
    with pytest.raises(TypeError):
        ProvisioningReport.success("a", VM, supporting_data=bad)
    with pytest.raises(TypeError):
        ProvisioningReport.success("a", VM, supporting_data=[("k", bad)])
    with pytest.raises(ValueError):
        ProvisioningReport.success("a", VM).encode(bad)
    with pytest.raises(ValueError):
        ProvisioningReport(bad, "a", VM)
    with pytest.raises(TypeError):
        ProvisioningReport.decode(bad)
    report = ProvisioningReport.success("a", VM).with_supporting("k", "v")
    assert report.supporting_data == (("k", "v"),) and report.result is ReportResult.SUCCESS
    assert ProvisioningReport(ReportResult("error"), "a", VM, reason="r").result is ReportResult.ERROR


# -- the VM id ----------------------------------------------------------------


def fake_machine(
    root: Path, product_uuid: Optional[bytes], efi: Optional[str] = None, tag: Optional[str] = None
) -> Machine:
    """A sysfs root: DMI files, and `efi` (sys/firmware/efi or dev/efi) on Gen2."""
    dmi = root / "sys" / "class" / "dmi" / "id"
    dmi.mkdir(parents=True)
    if product_uuid is not None:
        (dmi / "product_uuid").write_bytes(product_uuid)
    if efi is not None:
        (root / efi).mkdir(parents=True)
    if tag is not None:
        (dmi / "chassis_asset_tag").write_text(tag)
    return Machine(root)


@pytest.mark.parametrize(
    "case", report_fixture("peer-examples.json")["vm_ids"], ids=lambda case: str(case["from"]).rsplit(" ", 1)[-1]
)
def test_vm_id_against_both_peers(tmp_path: Path, case: Any) -> None:
    efi = "sys/firmware/efi" if case["gen"] == 2 else None
    machine = fake_machine(tmp_path, case["product_uuid"].encode() + b"\n", efi)
    assert machine.generation() == Generation(case["gen"])
    ours = case.get("ours")
    if ours is None:
        expected = case.get("azure_init") or case.get("cloud_init")
        assert machine.vm_id() == expected
        assert vm_id_of(case["product_uuid"], case["gen"]) == expected
        return
    with pytest.raises(VmIdError) as caught:
        machine.vm_id()
    error = caught.value
    assert error.errno == (errno.EINVAL if ours == "malformed" else errno.ENODATA)
    assert error.filename == str(tmp_path / "sys/class/dmi/id/product_uuid")
    assert error.value == case["product_uuid"].strip().lower()
    with pytest.raises(VmIdError):
        vm_id_of(case["product_uuid"], case["gen"])


def test_gen1_and_gen2_of_one_uuid(tmp_path: Path) -> None:
    product = b"527C2691-029F-FE4C-B1F4-A4DA7EBAC2CF\n"  # upper case, as kernels before 4.15 print it
    gen1 = fake_machine(tmp_path / "gen1", product)
    gen2 = fake_machine(tmp_path / "gen2", product, "sys/firmware/efi")
    gen2_dev = fake_machine(tmp_path / "gen2dev", product, "dev/efi")
    assert gen1.generation() is Generation.GEN1 and gen2_dev.generation() is Generation.GEN2
    assert gen1.vm_id() == "91267c52-9f02-4cfe-b1f4-a4da7ebac2cf"  # cloud-init's test_gen1
    assert gen2.vm_id() == gen2_dev.vm_id() == "527c2691-029f-fe4c-b1f4-a4da7ebac2cf"
    assert gen1.system_uuid() == gen2.system_uuid() == "527c2691-029f-fe4c-b1f4-a4da7ebac2cf"
    assert vm_id_of("527c2691-029f-fe4c-b1f4-a4da7ebac2cf", Generation.GEN1) == gen1.vm_id()


@pytest.mark.parametrize(
    "content,code",
    [
        (b"\n", errno.ENODATA),
        (b"00000000-0000-0000-0000-000000000000\n", errno.ENODATA),
        (b"\xff\xff\xff\xff", errno.ENODATA),
        (b"not-a-uuid\n", errno.EINVAL),
    ],
)
def test_no_vm_id_is_an_error_never_a_zero_guid(tmp_path: Path, content: bytes, code: int) -> None:
    for efi in (None, "sys/firmware/efi"):
        machine = fake_machine(tmp_path / str(efi is None), content, efi)
        with pytest.raises(VmIdError) as caught:
            machine.vm_id()
        assert caught.value.errno == code
        assert isinstance(caught.value, OSError) and isinstance(caught.value, KvpError)
        copy = pickle.loads(pickle.dumps(caught.value))
        assert (copy.errno, copy.filename, copy.value) == (code, caught.value.filename, caught.value.value)


def test_unreadable_product_uuid_is_the_os_error(tmp_path: Path) -> None:
    machine = fake_machine(tmp_path, None)
    with pytest.raises(FileNotFoundError) as caught:
        machine.vm_id()
    assert caught.value.filename == str(tmp_path / "sys/class/dmi/id/product_uuid")
    assert not isinstance(caught.value, VmIdError)


def test_is_azure_by_chassis_asset_tag(tmp_path: Path) -> None:
    azure = fake_machine(tmp_path / "a", None, tag=AZURE_CHASSIS_ASSET_TAG + "\n")
    other = fake_machine(tmp_path / "b", None, tag="No Asset Tag\n")
    none = fake_machine(tmp_path / "c", None)
    assert azure.is_azure() and not other.is_azure() and not none.is_azure()
    assert azure.chassis_asset_tag() == AZURE_CHASSIS_ASSET_TAG
    assert other.chassis_asset_tag() == "No Asset Tag" and none.chassis_asset_tag() is None
    assert repr(none) == f"Machine(root={str(tmp_path / 'c')!r})"
    bad: Any = 5
    with pytest.raises(TypeError):
        Machine(bad)


@pytest.mark.parametrize("name", ["reason", "vm_id", "shortened", "a=b", ""])
def test_write_report_refuses_what_would_not_read_back(pool: KvpPool, name: str) -> None:
    report = ProvisioningReport.error("A/1", VM, "boom", supporting_data=[(name, "x")])
    with pytest.raises(InvalidFieldError) as caught:
        write_report(pool, report)
    assert caught.value.field == "supporting-data name" and pool.record_count() == 0
    with pytest.raises(InvalidFieldError):
        write_report(pool, ProvisioningReport.success("", VM))
