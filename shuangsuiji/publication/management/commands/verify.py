from shuangsuiji.protocol.verify import main_verify

from ._passthrough import PassThroughCommand


class Command(PassThroughCommand):
    help = (
        "重新计算 ssj-draw/1 对象抽取并核验：verify RECORD.json POPULATION.tsv EXCLUDED.tsv "
        "[--announcement A.json] [--strata STRATA.tsv]；退出码 0 通过、1 不符、2 无法读取"
    )
    main = staticmethod(main_verify)
