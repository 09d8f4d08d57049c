import pytest

from semverlite import InvalidVersion, Version, max_version


def test_parse_full():
    v = Version.parse("1.4.0-rc.1+build.7")
    assert (v.major, v.minor, v.patch) == (1, 4, 0)
    assert v.prerelease == ("rc", "1")
    assert v.build == ("build", "7")
    assert str(v) == "1.4.0-rc.1+build.7"


@pytest.mark.parametrize("text", ["1", "1.2", "01.2.3", "1.2.3-", "1.2.3-01", "1.2.3+", "v1.2.3", "1.2.3-a..b"])
def test_parse_invalid(text):
    with pytest.raises(InvalidVersion):
        Version.parse(text)


def test_bump():
    v = Version.parse("1.2.3")
    assert str(v.bump_patch()) == "1.2.4"
    assert str(v.bump_minor()) == "1.3.0"
    assert str(v.bump_major()) == "2.0.0"
    assert str(Version.parse("1.2.3-rc.1").bump_patch()) == "1.2.3"


def test_simple_ordering():
    assert Version.parse("1.2.3") < Version.parse("1.10.0")
    assert Version.parse("2.0.0") > Version.parse("1.99.99")


def test_build_metadata_ignored_for_equality():
    assert Version.parse("1.0.0+a") == Version.parse("1.0.0+b")


def test_max_version_skips_prereleases():
    assert str(max_version(["1.0.0", "1.2.0", "0.9.0"])) == "1.2.0"
    assert max_version([]) is None
