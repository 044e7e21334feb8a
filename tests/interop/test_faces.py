"""Every face of the library that is in the tree takes part in the interop
cases: a face that is there but did not build is a failure, not a skip."""

from faces import REPO


def test_every_face_in_the_tree_is_tested(faces):
    names = {face.name for face in faces}
    assert "kvp-core" in names
    if (REPO / "include" / "kvp.h").exists():
        assert "C ABI" in names, "include/kvp.h is in the tree but the C reader was not built"
    if (REPO / "kvp-python" / "python" / "hyperv_kvp" / "__init__.py").exists():
        assert "Python" in names, "hyperv_kvp is in the tree but was not installed"
