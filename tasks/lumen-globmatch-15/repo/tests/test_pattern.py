import re
import unittest

from globmatch import PathSpec, match, translate


class TestSingleStar(unittest.TestCase):
    def test_star_matches_within_segment(self):
        self.assertTrue(match("*.py", "setup.py"))
        self.assertTrue(match("src/*.py", "src/mod.py"))

    def test_star_does_not_cross_directories(self):
        self.assertFalse(match("*.py", "src/mod.py"))
        self.assertFalse(match("src/*.py", "src/pkg/mod.py"))

    def test_question_mark(self):
        self.assertTrue(match("file?.txt", "file1.txt"))
        self.assertFalse(match("file?.txt", "file10.txt"))
        self.assertFalse(match("a?b", "a/b"))

    def test_literal_characters_are_escaped(self):
        self.assertTrue(match("a+b(1).txt", "a+b(1).txt"))
        self.assertFalse(match("a.txt", "abtxt"))


class TestCharacterClass(unittest.TestCase):
    def test_set(self):
        self.assertTrue(match("data[0-9].csv", "data7.csv"))
        self.assertFalse(match("data[0-9].csv", "datax.csv"))

    def test_negated_set(self):
        self.assertTrue(match("[!.]*", "visible"))
        self.assertFalse(match("[!.]*", ".hidden"))

    def test_unclosed_bracket_is_literal(self):
        self.assertTrue(match("a[b", "a[b"))


class TestDoubleStar(unittest.TestCase):
    def test_double_star_spans_directories(self):
        self.assertTrue(match("src/**/test_*.py", "src/pkg/test_mod.py"))
        self.assertTrue(match("src/**/test_*.py", "src/a/b/c/test_mod.py"))

    def test_trailing_double_star(self):
        self.assertTrue(match("build/**", "build/lib/x.so"))
        self.assertFalse(match("build/**", "src/build.py"))

    def test_translate_is_anchored(self):
        self.assertIsNone(re.match(translate("*.py"), "mod.pyc"))


class TestPathSpec(unittest.TestCase):
    def test_last_match_wins(self):
        spec = PathSpec(["src/**/*.py", "!src/**/test_*.py"])
        self.assertTrue(spec.matches("src/pkg/mod.py"))
        self.assertFalse(spec.matches("src/pkg/test_mod.py"))

    def test_comments_and_blank_lines(self):
        spec = PathSpec(["# python sources", "", "docs/*.md"])
        self.assertEqual(spec.match_files(["docs/a.md", "docs/x/b.md"]), ["docs/a.md"])

    def test_windows_separators(self):
        self.assertTrue(match("src/*/mod.py", "src\\pkg\\mod.py"))


if __name__ == "__main__":
    unittest.main()
