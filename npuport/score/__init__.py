"""`npuport score`: a package's predictions for every row of a corpus of any size (.txt, .jsonl, .parquet), in shards
that survive a crash, on this machine or as a Ray Data job."""

from npuport.score.job import ScoreOptions, ScoreResult, score_corpus

__all__ = ["ScoreOptions", "ScoreResult", "score_corpus"]
