"""A corpus of student submissions, as data: common mistakes (mistakes.py) and right answers in
other styles than solutions/ (valid.py), built into folders by build.py. tests/test_corpus.py
grades them all."""
