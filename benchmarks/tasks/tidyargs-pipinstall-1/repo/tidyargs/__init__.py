"""Turn ``key=value`` strings into a dict."""


def parse(items):
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = value
    return out
