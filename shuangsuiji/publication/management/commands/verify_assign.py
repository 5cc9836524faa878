from shuangsuiji.protocol.verify import main_verify_assign

from ._passthrough import PassThroughCommand


class Command(PassThroughCommand):
    help = (
        "重放 ssj-assign/1 人员抽取并核验：verify-assign RECORD.json TEAMS.tsv NEED.tsv "
        "ELIGIBILITY.tsv [--announcement A.json] [--draw RELEASE.json]；退出码 0 通过、1 不符、2 无法读取"
    )
    main = staticmethod(main_verify_assign)
