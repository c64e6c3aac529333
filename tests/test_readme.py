"""The README's Python example runs as written (doctest)."""

import doctest
from pathlib import Path


def test_readme_examples():
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text()
    # only the ```python blocks are doctests
    blocks = [b.split("```", 1)[0] for b in text.split("```python")[1:]]
    parser = doctest.DocTestParser()
    test = parser.get_doctest("\n".join(blocks), {}, "README.md", str(readme), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 3


def test_package_docstring_example():
    import gigafleet

    failures, tries = doctest.testmod(gigafleet)
    assert failures == 0 and tries > 0
