"""The vocabulary every layer shares: process descriptions, requests, results, jobs, errors, codecs.

Nothing here imports anything else from ``app``: every other package builds on these models and
none of them is known here.
"""
