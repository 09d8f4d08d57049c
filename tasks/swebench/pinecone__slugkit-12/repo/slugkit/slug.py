"""URL slugs from titles."""

import re
import unicodedata


def slugify(text: str, sep: str = "-") -> str:
    """Lower-case ASCII words of ``text`` joined by ``sep``."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-zA-Z0-9]", sep, text.strip().lower())
    return text.strip(sep)
