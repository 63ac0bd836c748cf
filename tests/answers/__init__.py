"""The answer tables of the exercise tests, one module per exercise module: nb05 holds notebook 5's.

Each has RIGHT (answers in several idioms, each must get Correct), WRONG (answers with the words of the
message each must get) and NOT_YET (the words of the wrong answers no typical mistake names).
tests/test_exercises.py runs them all.
"""
