"""Each staffing test writes its run files in its own data folder: task codes repeat across the
test databases of parallel workers, and run folders are named by task code."""

from shuangsuiji.draws.tests.helpers import own_data_folder  # noqa: F401 (autouse)
