#!/bin/bash
set -uxo pipefail
source /opt/miniconda3/bin/activate
conda activate testbed
cd /testbed
git config --global --add safe.directory /testbed
cd /testbed
git status
git show
git -c core.fileMode=false diff aa53ad63a323d66428492906f5ea500938bf3aca
source /opt/miniconda3/bin/activate
conda activate testbed
python -m pip install -e .
git checkout aa53ad63a323d66428492906f5ea500938bf3aca tests/test_slug.py
git apply -v - <<'EOF_114329324912'
diff --git a/tests/test_slug.py b/tests/test_slug.py
index 12f529e..a517776 100644
--- a/tests/test_slug.py
+++ b/tests/test_slug.py
@@ -12,3 +12,8 @@ def test_spaces_become_separators():
 
 def test_accents_are_dropped():
     assert slugify("Café au lait") == "cafe-au-lait"
+
+
+def test_runs_of_separators_collapse():
+    assert slugify("Hello, World!") == "hello-world"
+    assert slugify("a  --  b") == "a-b"
EOF_114329324912
: '>>>>> Start Test Output'
pytest -rA tests/test_slug.py
: '>>>>> End Test Output'
git checkout aa53ad63a323d66428492906f5ea500938bf3aca tests/test_slug.py
