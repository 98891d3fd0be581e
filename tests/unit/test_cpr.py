"""CPR numbers: what counts as one in free text, validation, redaction; deletion rules; key handling."""
from datetime import date

import pytest

from engine import cpr, crypto
from engine.errors import InvalidInput, WorkflowError
from engine.services.gdpr import deletion_date
from engine.settings import Settings, SettingsError


@pytest.mark.parametrize("text, expected", [
    ("010190-1234", ["0101901234"]),
    ("0101901234", ["0101901234"]),
    ("CPR: 311299-4321.", ["3112994321"]),
    ("født 290200-4123, ansøger", ["2902004123"]),      # 29 Feb 2000: serial 4, yy 00 -> 2000
    ("(010101-9876)", ["0101019876"]),
    ("to: 010190-1234 og 020290-5678", ["0101901234", "0202905678"]),
    ("cpr=0101901234;", ["0101901234"]),
    ("010190-1235", ["0101901235"]),                     # fails modulus 11: still a CPR number since 2007
])
def test_true_positives(text, expected):
    assert cpr.find_cprs(text) == expected


@pytest.mark.parametrize("text", [
    "12345678",                 # a phone number
    "tlf. 98 45 63 00",         # a phone number, grouped
    "+45 12 34 56 78",
    "+4512345678",
    "12345678901",              # eleven digits
    "00101901234",              # a CPR-shaped run inside a longer digit run
    "0101901234567890",
    "320190-1234",              # day 32
    "011390-1234",              # month 13
    "290201-4123",              # 29 Feb 2001 does not exist
    "290200-5123",              # serial 5, yy 00 -> 2000: leap, valid ... checked below with 1900
    "1.010.190.123,00 kr.",     # an amount with thousands separators
    "beløb 0101901234,50",      # an amount with decimals
    "12,0101901234",
    "konto 1234-0101901234",    # registration and account number
    "010190-1234-5",            # a longer dash-separated reference
    "2026-11-20",               # an ISO date
    "AKT-2026-000001",          # a case number
    "010190 1234",              # a space is not a CPR separator
])
def test_false_positives(text):
    if text == "290200-5123":
        assert cpr.find_cprs(text) == ["2902005123"]  # 2000 is a leap year: a real date
        assert cpr.find_cprs("290258-5123") == []     # serial 5, yy 58 -> 1858: not a leap year
        return
    assert cpr.find_cprs(text) == []


def test_century_comes_from_the_first_serial_digit():
    assert cpr.birth_date(1, 1, 37, "4000") == date(1937, 1, 1)
    assert cpr.birth_date(1, 1, 36, "4000") == date(2036, 1, 1)
    assert cpr.birth_date(1, 1, 57, "5000") == date(2057, 1, 1)
    assert cpr.birth_date(1, 1, 58, "5000") == date(1858, 1, 1)
    assert cpr.birth_date(1, 1, 20, "2000") == date(1920, 1, 1)


def test_fields_with_cpr_walks_nested_form_data_and_number_fields():
    data = {"note": "intet", "applicant": {"cpr": "010190-1234", "phone": "12345678"},
            "others": ["x", "cpr 0202905678"], "as_number": 101901234, "amount": 1234567890, "flag": True}
    assert cpr.fields_with_cpr(data) == ["applicant.cpr", "others[1]", "as_number"]


def test_normalise_names_the_field_and_redact_hides_every_number():
    assert cpr.normalise_cpr(" 010190-1234 ") == "0101901234"
    with pytest.raises(InvalidInput, match="ten digits") as err:
        cpr.normalise_cpr("01019-1234", field="parties[0].cpr")
    assert err.value.field == "parties[0].cpr"
    with pytest.raises(InvalidInput, match="date"):
        cpr.normalise_cpr("320190-1234")
    assert cpr.redact({"a": ["cpr 010190-1234, tlf 12345678"]}) == {"a": ["cpr [CPR], tlf 12345678"]}
    assert cpr.mask_cpr("0101901234") == "010190-xxxx"
    assert cpr.normalise_cvr("12345678") == "12345678"
    for bad in ("1234567", "01234567", "123456789", "abcdefgh"):
        with pytest.raises(InvalidInput, match="CVR"):
            cpr.normalise_cvr(bad)


def test_deletion_dates_from_kle_rules():
    assert deletion_date("P1825D", date(2026, 11, 27)) == date(2031, 11, 26)
    assert deletion_date("P30D", date(2026, 1, 31)) == date(2026, 3, 2)
    assert deletion_date("K", date(2026, 1, 1)) is None
    with pytest.raises(WorkflowError, match="deletion rule"):
        deletion_date("P5Y", date(2026, 1, 1))


def test_protector_encrypts_with_rotation_and_hashes_with_a_separate_key():
    old, new = crypto.new_data_key(), crypto.new_data_key()
    lookup = "l" * 40
    token = crypto.DataProtector(old, lookup).encrypt("0101901234")
    assert "0101901234" not in token
    rotated = crypto.DataProtector(f"{new},{old}", lookup)
    assert rotated.decrypt(token) == "0101901234"
    assert crypto.DataProtector(new, lookup).decrypt(rotated.rotate(token)) == "0101901234"
    with pytest.raises(crypto.DataKeyError, match="cannot be decrypted"):
        crypto.DataProtector(new, lookup).decrypt(token)
    hashed = rotated.lookup_hash("0101901234")
    assert hashed == crypto.DataProtector(old, lookup).lookup_hash("0101901234")
    assert hashed != crypto.DataProtector(old, "m" * 40).lookup_hash("0101901234")


def test_keys_are_required_in_production_and_kept_in_the_instance_when_embedded(tmp_path):
    production = {"SAGSGANG_MODE": "production", "SAGSGANG_DATABASE_URL": "postgresql+psycopg://x/y",
                  "SAGSGANG_SECRET_KEY": "s" * 40, "SAGSGANG_INSTANCE_PATH": str(tmp_path / "p")}
    with pytest.raises(SettingsError, match="SAGSGANG_DATA_KEY, SAGSGANG_LOOKUP_KEY"):
        Settings.from_env(production)
    with pytest.raises(SettingsError, match="SAGSGANG_DATA_KEY key 1"):
        Settings.from_env(dict(production, SAGSGANG_DATA_KEY="short", SAGSGANG_LOOKUP_KEY="l" * 40))
    embedded = {"SAGSGANG_INSTANCE_PATH": str(tmp_path / "e")}
    first, again = Settings.from_env(embedded), Settings.from_env(embedded)
    assert first.data_key == again.data_key and first.lookup_key == again.lookup_key
    assert (tmp_path / "e" / "data_key").stat().st_mode & 0o077 == 0
    assert first.data_key not in repr(first)
