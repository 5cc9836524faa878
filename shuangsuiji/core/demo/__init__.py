"""The demo jurisdiction: 巴音郭楞蒙古自治州 (seed 000) with its 22 member departments, their item
lists, a target directory of realistic market entities and non-market objects, inspectors, experts
and demo logins.

- :mod:`.data` — static tables (counties, departments, items, industry profiles, names);
- :mod:`.generate` — pure, seeded generators of targets and inspectors (no database);
- :mod:`.loader` — writes everything, idempotently (:func:`.loader.load_demo`).
"""
