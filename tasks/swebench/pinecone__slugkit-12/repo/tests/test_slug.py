from slugkit import slugify


def test_lowercases():
    assert slugify("Hello") == "hello"


def test_spaces_become_separators():
    assert slugify("hello world") == "hello-world"
    assert slugify("hello world", sep="_") == "hello_world"


def test_accents_are_dropped():
    assert slugify("Café au lait") == "cafe-au-lait"
