"""The public draw protocol: ssj-draw/1, ssj-assign/1 and the public log (DRAW-PROTOCOL.md).

Pure Python (standard library only, no Django), so that anyone can read it in one sitting and
re-run a published draw anywhere:

    python -m shuangsuiji.protocol verify RELEASE.json POPULATION.tsv EXCLUDED.tsv \
        [--announcement ANNOUNCEMENT.json] [--strata STRATA.tsv]
    python -m shuangsuiji.protocol verify-assign RECORD.json TEAMS.tsv NEED.tsv ELIGIBILITY.tsv \
        [--announcement ANNOUNCEMENT.json] [--draw RELEASE.json]

Modules: ``draw`` (§1), ``assign`` (§2), ``merkle`` (§3), ``verify`` (§1.6 and §2.5 checks).
"""
