"""Fitting the learned parts (chunk fusion, evidence ranker and answer threshold) from data.

Used by `bench/train_ranker.py`; nothing here runs when answering questions. It needs the `train`
extra (scikit-learn), imported only by `fit.py`.
"""
