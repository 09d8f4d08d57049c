from tidyargs import parse


def test_pairs():
    assert parse(["a=1", "b=2"]) == {"a": "1", "b": "2"}


def test_keys_are_stripped():
    assert parse([" a =1"]) == {"a": "1"}
