"""The vocabulary: the model's frozen dataclasses, kinds, errors, periods, the config schema,
currencies, redaction and the one URL guard. Standard library only; imports nothing of simkeeper's.
"""
